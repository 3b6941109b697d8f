"""Offices as tenants in logistics. A warehouse belongs to one office; its lots, ledger
entries, counts, transfers, buffer levels and purchase orders belong to that office
through it. Dispatches, shortages and purchase requests carry their case's office.

A signed-in user of one office sees only these records of their own office: list queries
are filtered here, and a record of another office is answered as unknown (404), so its
id reveals nothing. Events being applied have no caller scope; they are confined by the
office they carry (an incident draws only on its own office's warehouses)."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, Table
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import DispatchRow, ShortageRow
from services.logistics.models.procurement import PurchaseOrderRow, PurchaseRequestRow
from services.logistics.models.stock import LotRow
from shared.auth import scoped_office, visible_to_caller
from shared.contracts.envelope import EventBase
from shared.errors import NotFound, PermanentEventError, Unprocessable
from shared.unit_of_work import UnitOfWork

WAREHOUSE: Table = LogisticsTable.metadata.tables["warehouse"]

Query = TypeVar("Query", bound=Select[Any])
OfficeRecord = TypeVar("OfficeRecord", DispatchRow, PurchaseRequestRow, PurchaseOrderRow, LotRow)


def office_warehouse_codes(office_id: str) -> Select[Any]:
    """The codes of an office's warehouses, as a subquery."""
    return sa_select(WAREHOUSE.c.code).where(WAREHOUSE.c.office_id == office_id)


def in_callers_warehouses(query: Query, warehouse_code: ColumnElement[Any] | Any) -> Query:
    """`query` limited to rows held in the caller's office's warehouses."""
    scope = scoped_office()
    if scope is None:
        return query
    return query.where(warehouse_code.in_(office_warehouse_codes(scope)))


def of_callers_office(query: Query, office_id: ColumnElement[Any] | Any) -> Query:
    """`query` limited to rows of the caller's office."""
    scope = scoped_office()
    if scope is None:
        return query
    return query.where(office_id == scope)


def warehouse_visible(uow: UnitOfWork, warehouse_code: str) -> bool:
    """Whether the warehouse exists and is the caller's office's."""
    warehouse = uow.session.get(WarehouseRow, warehouse_code)
    return warehouse is not None and visible_to_caller(warehouse.office_id)


def record_of_callers_office(
    uow: UnitOfWork,
    model: type[OfficeRecord],
    record_id: UUID,
    *,
    what: str,
    code: str,
    for_update: bool = False,
) -> OfficeRecord:
    """A record by id (locked until commit and freshly read if `for_update`), or
    404 `code` when it is unknown or of another office."""
    query = select(model).where(col(model.id) == record_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = uow.session.exec(query).first()
    if row is None or not _of_callers_office(uow, row):
        raise NotFound(f"no {what} {record_id}", code=code)
    return row


def _of_callers_office(
    uow: UnitOfWork, row: DispatchRow | PurchaseRequestRow | PurchaseOrderRow | LotRow
) -> bool:
    if isinstance(row, DispatchRow | PurchaseRequestRow):
        return visible_to_caller(row.office_id)
    return warehouse_visible(uow, row.warehouse_code)


def check_case_of_callers_office(uow: UnitOfWork, case_id: UUID) -> None:
    """422 `unknown_case` unless logistics holds the case (a dispatch or a shortage of it)
    in the caller's office: a request may not name, and so join, another office's case."""
    scope = scoped_office()
    if scope is None:
        return
    for model in (DispatchRow, ShortageRow):
        found = uow.session.exec(
            select(model.id).where(model.case_id == case_id, model.office_id == scope).limit(1)
        ).first()
        if found is not None:
            return
    raise Unprocessable(f"no case {case_id} in this office", code="unknown_case")


def check_case_of_event_office(uow: UnitOfWork, event: EventBase) -> None:
    """Dead-letter (`other_office`) an event naming a case logistics already holds for
    another office: its dispatches and shortages are that office's, not to be added to."""
    for model in (DispatchRow, ShortageRow):
        other = uow.session.exec(
            select(model.office_id)
            .where(model.case_id == event.case_id, model.office_id != event.office_id)
            .limit(1)
        ).first()
        if other is not None:
            raise PermanentEventError(
                "other_office",
                f"{type(event).__name__} {event.event_id} of office {event.office_id} names "
                f"case {event.case_id} of another office",
            )
