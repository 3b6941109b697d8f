"""`TypedJSON`: a JSON column read back as typed values, stored as plain JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate.api import AutogenContext
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.exc import StatementError

from shared.columns import TypedJSON
from shared.contracts.envelope import NeedLine
from shared.migrations import render_item

METADATA = MetaData()
PARCELS = Table(
    "typed_json_parcel",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("lines", TypedJSON(list[NeedLine]), nullable=True),
)
RAW = Table("typed_json_parcel", MetaData(), Column("id", Integer), Column("lines", JSON))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def test_lines_written_as_models_come_back_as_models(engine: Engine) -> None:
    lines = [NeedLine(item_code="RICE-5KG", quantity=20), NeedLine(item_code="TENT", quantity=2)]
    with engine.begin() as connection:
        connection.execute(insert(PARCELS).values(id=1, lines=lines))
        stored = connection.execute(select(RAW.c.lines)).scalar_one()
        read = connection.execute(select(PARCELS.c.lines)).scalar_one()

    assert read == lines
    assert stored == [
        {"item_code": "RICE-5KG", "quantity": 20},
        {"item_code": "TENT", "quantity": 2},
    ]


def test_a_line_that_breaks_the_model_is_refused_before_it_is_stored(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(StatementError) as refused:
        connection.execute(insert(PARCELS).values(id=2, lines=[{"item_code": "RICE-5KG"}]))

    assert isinstance(refused.value.orig, ValidationError)


def test_a_stored_row_that_no_longer_fits_the_model_fails_when_it_is_read(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(RAW).values(id=3, lines=[{"item_code": "x", "quantity": -1}]))
        with pytest.raises(ValidationError):
            connection.execute(select(PARCELS.c.lines)).scalar_one()


def test_a_migration_renders_the_column_as_plain_json() -> None:
    context = AutogenContext(MigrationContext.configure(dialect_name="sqlite"))

    assert render_item("type", TypedJSON(list[NeedLine]), context) == "sa.JSON()"
