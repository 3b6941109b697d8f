"""What changed between two JSON Schemas of one event, and whether the change breaks.

A change is breaking when some event valid under the old schema is invalid (or reads
differently) under the new one: events of the old shape still sit in topics, outboxes
and dead-letter queues and must still be read. So adding an optional field, loosening a
limit or adding an enum value is additive; removing a field (contracts refuse unknown
fields), making one required, tightening a limit, dropping an enum value or changing a
type or a default is breaking. What this module cannot judge is called breaking: a
person decides then, not the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.contracts.envelope import EventBase

DOCUMENTATION = frozenset({"description", "title", "examples"})
# Raising one of these refuses values the old schema took; lowering it refuses none.
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems"})
UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems"})
_ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One difference at `path` (a JSON pointer into the event's schema)."""

    path: str
    what: str
    breaking: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.what} ({'breaking' if self.breaking else 'additive'})"


def event_schema(contract: type[EventBase]) -> dict[str, Any]:
    """The JSON Schema pydantic validates `contract` with (its value types in `$defs`)."""
    return contract.model_json_schema(mode="validation")


def schema_versions(schema: dict[str, Any]) -> tuple[int, ...]:
    """The `schema_version` values a schema accepts."""
    version = schema.get("properties", {}).get("schema_version", {})
    if "const" in version:
        return (int(version["const"]),)
    return tuple(int(v) for v in version.get("enum", ()))


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two schemas of one event, `schema_version` aside (the
    version is judged against the changes, not as one of them)."""
    found: list[Change] = []
    _compare(_without_version(old), _without_version(new), "", found)
    return found


def _without_version(schema: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in schema.get("properties", {}).items() if k != "schema_version"}
    return {**schema, "properties": properties}


def _compare(old: Any, new: Any, path: str, found: list[Change]) -> None:
    if old == new:
        return
    if not (isinstance(old, dict) and isinstance(new, dict)):
        _compare_values(old, new, path, found)
        return
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if before == after:
            continue
        here = f"{path}/{key}"
        if key in DOCUMENTATION:
            found.append(Change(here, "documentation changed", breaking=False))
        elif key == "properties":
            _compare_properties(old, new, here, found)
        elif key == "required":
            pass  # judged with the properties, which know whether a field is new
        elif key == "$defs":
            for name in sorted(before.keys() & after.keys()):
                _compare(before[name], after[name], f"{here}/{name}", found)
            # A value type added or dropped shows where it is referenced, judged there.
        else:
            _compare_keyword(key, before, after, here, found)


def _compare_properties(
    old: dict[str, Any], new: dict[str, Any], path: str, found: list[Change]
) -> None:
    before, after = old.get("properties", {}), new.get("properties", {})
    was_required, is_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(before.keys() | after.keys()):
        here = f"{path}/{name}"
        if name not in after:
            found.append(Change(here, "field removed", breaking=True))
        elif name not in before:
            if name in is_required:
                found.append(Change(here, "required field added", breaking=True))
            else:
                found.append(Change(here, "optional field added", breaking=False))
        else:
            if name in is_required and name not in was_required:
                found.append(Change(here, "field made required", breaking=True))
            elif name in was_required and name not in is_required:
                found.append(Change(here, "field made optional", breaking=False))
            _compare_field(before[name], after[name], here, found)


# Keywords about a field rather than about the values it takes.
_ABOUT_THE_FIELD = DOCUMENTATION | {"default"}


def _compare_field(before: Any, after: Any, path: str, found: list[Change]) -> None:
    """A field's schema; `T` widened to `T | None` (or any union holding the old type)
    takes every old value, so it is additive, not a type change."""
    if isinstance(before, dict) and isinstance(after, dict) and "anyOf" not in before:
        values_before = {k: v for k, v in before.items() if k not in _ABOUT_THE_FIELD}
        if values_before in after.get("anyOf", []):
            others = [branch for branch in after["anyOf"] if branch != values_before]
            found.append(Change(path, f"now also takes {others}", breaking=False))
            about_before = {k: v for k, v in before.items() if k in _ABOUT_THE_FIELD}
            about_after = {k: v for k, v in after.items() if k in _ABOUT_THE_FIELD}
            _compare(about_before, about_after, path, found)
            return
    _compare(before, after, path, found)


def _compare_keyword(key: str, before: Any, after: Any, path: str, found: list[Change]) -> None:
    if key in LOWER_BOUNDS | UPPER_BOUNDS:
        if before is _ABSENT or after is _ABSENT:
            tighter = after is not _ABSENT
        elif key in LOWER_BOUNDS:
            tighter = after > before
        else:
            tighter = after < before
        word = "tightened" if tighter else "loosened"
        found.append(Change(path, f"limit {word} ({_shown(before)} → {_shown(after)})", tighter))
    elif key == "enum" and isinstance(before, list) and isinstance(after, list):
        dropped = [value for value in before if value not in after]
        if dropped:
            found.append(Change(path, f"values dropped: {dropped}", breaking=True))
        else:
            added = [value for value in after if value not in before]
            found.append(Change(path, f"values added: {added}", breaking=False))
    elif key == "default" and before is _ABSENT:
        found.append(Change(path, f"default {_shown(after)} added", breaking=False))
    elif key == "pattern" and after is _ABSENT:
        found.append(Change(path, "pattern removed", breaking=False))
    elif key == "additionalProperties" and after is not False:
        found.append(Change(path, "unknown fields now accepted", breaking=False))
    elif isinstance(before, dict | list) and isinstance(after, type(before)):
        _compare_values(before, after, path, found)
    else:
        found.append(Change(path, f"{_shown(before)} → {_shown(after)}", breaking=True))


def _compare_values(before: Any, after: Any, path: str, found: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        _compare(before, after, path, found)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _compare(old, new, f"{path}/{index}", found)
    else:
        found.append(Change(path, f"{_shown(before)} → {_shown(after)}", breaking=True))


def _shown(value: Any) -> str:
    return "absent" if value is _ABSENT else repr(value)


def verdict(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> str | None:
    """What the snapshot test says about event `name` (None: unchanged)."""
    regenerate = "regenerate tests/contract/event_schemas.json with UPDATE_EVENT_SCHEMAS=1"
    if old == new:
        return None
    if old is None:
        return f"{name}: a new event, not in the snapshot yet: {regenerate}"
    if new is None:
        return (
            f"{name}: BREAKING: the event was removed, but events of it may still be in "
            "topics, outboxes and dead-letter queues and would be dead-lettered as "
            "unknown_event_type; keep it until none can be replayed"
        )
    found = changes(old, new)
    versions_before, versions_after = schema_versions(old), schema_versions(new)
    listed = "; ".join(str(change) for change in found) or "schema_version only"
    breaking = [change for change in found if change.breaking]
    if breaking and versions_after == versions_before:
        newest = max(versions_before, default=0)
        return (
            f"{name}: BREAKING change without a new schema_version (still "
            f"{_versions(versions_before)}): {listed}. A breaking change needs a new "
            f"version: declare `schema_version: Literal[{newest}, {newest + 1}] = "
            f"{newest + 1}`, lift v{newest} documents in a model_validator(mode='before') "
            f"so consumers read both, then {regenerate}"
        )
    kind = "breaking change with a new version" if breaking else "additive change"
    return (
        f"{name}: {kind} ({_versions(versions_before)} → {_versions(versions_after)}): "
        f"{listed}; {regenerate}"
    )


def _versions(versions: tuple[int, ...]) -> str:
    return ", ".join(f"v{version}" for version in versions) or "no version"
