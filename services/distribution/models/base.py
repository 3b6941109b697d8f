"""The base of distribution's tables (their own metadata, in distribution's own database)
and the column kinds they share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from shared.columns import TypedJSON, UTCDateTime


class DistributionTable(SQLModel, registry=registry()):
    """Base of distribution's tables: their own metadata, in distribution's own database."""


def json_column() -> Any:
    """A JSON column, required."""
    return SQLField(sa_column=Column(JSON, nullable=False))


def typed_json_column(value_type: Any, *, nullable: bool = False) -> Any:
    """A JSON column read back as `value_type` (`shared.columns.TypedJSON`): the DDL is
    plain JSON's."""
    if nullable:
        return SQLField(default=None, sa_column=Column(TypedJSON(value_type)))
    return SQLField(sa_column=Column(TypedJSON(value_type), nullable=False))


def moment_column(*, index: bool = False, nullable: bool = True) -> Any:
    """A UTC timestamp column (None until the moment comes, unless `nullable=False`)."""
    if nullable:
        return SQLField(default=None, sa_column=Column(UTCDateTime, index=index))
    return SQLField(sa_column=Column(UTCDateTime, nullable=False, index=index))
