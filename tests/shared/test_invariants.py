"""What the schema or the code guarantees is checked without `assert` (python -O drops
asserts): a broken guarantee stops the transaction with `InvariantBroken`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.invariants import InvariantBroken, of_type, present

ROOT = Path(__file__).resolve().parents[2]


def test_a_value_that_is_there_is_given_back_and_a_missing_one_stops_with_what_it_was() -> None:
    assert present(0, "a count") == 0  # falsy, yet there
    with pytest.raises(InvariantBroken, match="warehouse GDG-A is missing"):
        present(None, "warehouse GDG-A")


def test_a_value_of_another_type_stops_naming_both_types() -> None:
    assert of_type("x", str, "a code") == "x"
    with pytest.raises(InvariantBroken, match="the settings is a int, not a str"):
        of_type(3, str, "the settings")


def test_no_production_module_guards_an_invariant_with_assert() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for folder in ("services", "shared")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == []
