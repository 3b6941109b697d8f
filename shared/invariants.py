"""Checks of what must hold unless the database or the code is broken (a foreign key's
row, a value a previous step set). Not `assert`: Python run with -O drops asserts, and a
broken invariant must stop the transaction, not go on with None."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class InvariantBroken(RuntimeError):
    """Something the schema or the code guarantees did not hold: a bug or a damaged
    database, never a user's error (the API answers 500 and the transaction rolls back)."""


def present(value: T | None, what: str) -> T:
    """`value`, which the schema or an earlier step guarantees is there."""
    if value is None:
        raise InvariantBroken(f"{what} is missing")
    return value


def of_type(value: object, kind: type[T], what: str) -> T:
    """`value` as `kind`, which the code that produced it guarantees."""
    if not isinstance(value, kind):
        raise InvariantBroken(f"{what} is a {type(value).__name__}, not a {kind.__name__}")
    return value
