"""What every logistics table and API shape builds on: the tables' own metadata (logistics'
own database) and the codes a request names a warehouse by and gives a reason in."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.text import FREE_TEXT


class LogisticsTable(SQLModel, registry=registry()):
    """Base of logistics' tables: their own metadata, in logistics' own database."""


WarehouseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,39}$")]


Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), FREE_TEXT
]
