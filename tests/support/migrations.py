"""Helpers for the migration tests: every service's history, and a row in every table of a
database as it stands at some revision (read from the database, not from today's models,
so a later revision's tables and columns are covered without touching this file)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, Enum, MetaData, Table, func, insert, select

from services.distribution.migrations import HISTORY as DISTRIBUTION
from services.intake.migrations import HISTORY as INTAKE
from services.logistics.migrations import HISTORY as LOGISTICS
from services.notify.migrations import HISTORY as NOTIFY
from shared.migrations import VERSION_TABLE, MigrationHistory

HISTORIES: dict[str, MigrationHistory] = {
    history.service: history for history in (INTAKE, LOGISTICS, DISTRIBUTION, NOTIFY)
}


def reflected_tables(engine: Engine) -> list[Table]:
    """The database's own tables as it has them now, parents before children."""
    metadata = MetaData()
    metadata.reflect(engine)
    return [table for table in metadata.sorted_tables if table.name != VERSION_TABLE]


def _value_for(table: Table, column_name: str) -> Any:
    """A value the column accepts. Numbers are 0, which every CHECK on stock allows
    (on_hand >= 0, reserved <= on_hand, quarantined lots reserve 0)."""
    column = table.c[column_name]
    kind = column.type
    if isinstance(kind, Enum):
        return kind.enums[0]
    try:
        python_type = kind.python_type
    except NotImplementedError:
        python_type = str
    values: dict[type, Any] = {
        bool: False,
        int: 0,
        float: 0.0,
        bytes: b"\x00",
        datetime: datetime(2026, 11, 23, 2, 0, tzinfo=UTC),  # before date: a subclass
        date: date(2026, 11, 23),
        uuid.UUID: uuid.uuid4(),
        dict: {"kept": True},
        list: [{"kept": True}],
    }
    for known, value in values.items():
        if issubclass(python_type, known):
            return value
    length = getattr(kind, "length", None) or 40
    return f"{table.name[:6]}-{column_name}"[:length]


def fill_every_table(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    """Insert one row into every table (foreign keys pointing at the parent's row); the
    primary keys inserted, per table."""
    inserted: dict[str, dict[str, Any]] = {}
    keys: dict[str, set[tuple[Any, ...]]] = {}
    tables = reflected_tables(engine)
    with engine.begin() as connection:
        for table in tables:
            row = {column.name: _value_for(table, column.name) for column in table.columns}
            for foreign_key in table.foreign_keys:
                parent = inserted[foreign_key.column.table.name]
                row[foreign_key.parent.name] = parent[foreign_key.column.name]
            connection.execute(insert(table), row)
            inserted[table.name] = row
            keys[table.name] = {tuple(row[c.name] for c in table.primary_key.columns)}
    return keys


def primary_keys(engine: Engine, table_names: set[str]) -> dict[str, set[tuple[Any, ...]]]:
    """The primary keys of every row of the named tables, as the database has them."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    tables = reflected_tables(engine)
    with engine.connect() as connection:
        for table in tables:
            if table.name in table_names:
                rows = connection.execute(select(*table.primary_key.columns)).all()
                found[table.name] = {tuple(row) for row in rows}
    return found


def row_count(engine: Engine, table: str) -> int:
    """How many rows `table` holds."""
    reflected = {t.name: t for t in reflected_tables(engine)}[table]  # before connecting
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(reflected)).scalar_one())
