"""Column types of our own, shared by every service's tables: what the database keeps is a
plain SQL type (so migrations render the plain type, `shared.migrations.render_item`);
what code reads is a typed Python value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone and hands back naive values; PostgreSQL keeps timestamptz. A
    naive value on the way in is a bug, so it is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TypedJSON(TypeDecorator[Any]):
    """A JSON column read back as typed values (`TypedJSON(list[NeedLine])`): code reads
    `line.item_code`, never `line["item_code"]`, and a row whose JSON no longer fits the
    model fails loudly at read time instead of deep inside a use case. The database keeps
    plain JSON: the DDL (and so every migration) is the same as `JSON`'s."""

    impl = JSON
    cache_ok = True

    def __init__(self, value_type: Any) -> None:
        super().__init__()
        self.value_type = value_type
        self._adapter: TypeAdapter[Any] = TypeAdapter(value_type)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        del dialect
        if value is None:
            return None
        return self._adapter.dump_python(self._adapter.validate_python(value), mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        del dialect
        if value is None:
            return None
        return self._adapter.validate_python(value)
