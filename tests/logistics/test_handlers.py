"""logistics' use cases on SQLite and PostgreSQL: allocation reserves the oldest usable
lots, every movement is in the ledger, and concurrent allocations never over-allocate."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from services.logistics import allocation, catalogue, queries, stock_changes
from services.logistics.models.catalogue import WarehouseIn
from services.logistics.models.dispatch import DispatchRow, ShortageRow
from services.logistics.models.stock import AdjustmentIn
from shared.contracts.envelope import EventBase, GeoPoint
from shared.contracts.intake import IncidentVerified
from shared.contracts.logistics import DispatchPlanned, MovementKind, StockShortageDetected
from shared.errors import Conflict, PermanentEventError, Unprocessable
from shared.runtime import ServiceRuntime
from tests.logistics.support import (
    NOW,
    TODAY,
    allocate,
    clock,
    lot_state,
    receive,
    settings,
    verified,
)


def test_allocation_reserves_the_oldest_unexpired_lot_and_release_issues_it(
    runtime: ServiceRuntime,
) -> None:
    clock(runtime).set(datetime(2025, 6, 1, 2, 0, tzinfo=UTC))  # booked while still good
    expired = receive(runtime, 100, date(2025, 6, 1), expires_on=TODAY)
    clock(runtime).set(NOW)
    oldest = receive(runtime, 20, date(2026, 1, 10), expires_on=date(2027, 6, 1))
    newest = receive(runtime, 100, date(2026, 10, 1))

    emitted = allocate(runtime, verified(("RICE-5KG", 50)))
    (planned,) = emitted
    assert isinstance(planned, DispatchPlanned)
    assert planned.warehouse_code == "GDG-TGR"
    assert [(line.lot_id, line.quantity) for line in planned.lines] == [(oldest, 20), (newest, 30)]
    assert lot_state(runtime, expired) == (100, 0)
    assert lot_state(runtime, oldest) == (20, 20)
    assert lot_state(runtime, newest) == (100, 30)

    released = runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    assert released.status == "released"
    assert lot_state(runtime, oldest) == (0, 0)
    assert lot_state(runtime, newest) == (70, 0)
    with pytest.raises(Conflict):
        runtime.run(
            lambda uow: allocation.release_dispatch(
                uow, planned.dispatch_id, "Rina", settings(runtime)
            )
        )

    kinds = [
        m.kind
        for m in runtime.run(
            lambda uow: (
                queries.list_movements(
                    uow, lot_id=None, dispatch_id=planned.dispatch_id, after=None, limit=100
                ).items
            )
        )
    ]
    assert sorted(kinds) == sorted([MovementKind.RESERVATION] * 2 + [MovementKind.ISSUE] * 2)
    assert runtime.run(queries.ledger_disagreements) == []


def test_shortage_is_announced_and_nothing_is_reserved_for_an_unknown_item(
    runtime: ServiceRuntime,
) -> None:
    receive(runtime, 5, date(2026, 5, 1), item="FAMILY-KIT", warehouse="GDG-SMD")
    emitted = allocate(runtime, verified(("FAMILY-KIT", 8), ("VELBED", 3)))
    planned, shortage = emitted
    assert isinstance(planned, DispatchPlanned) and planned.warehouse_code == "GDG-SMD"
    assert isinstance(shortage, StockShortageDetected)
    assert [(s.item_code, s.allocated, s.missing, s.reason) for s in shortage.lines] == [
        ("FAMILY-KIT", 5, 3, "insufficient_stock"),
        ("VELBED", 0, 3, "unknown_item"),
    ]
    shortages = runtime.run(
        lambda uow: queries.list_shortages(uow, case_id=shortage.case_id, limit=10).items
    )
    assert len(shortages) == 2


def test_lot_that_expires_before_the_delivery_deadline_is_not_sent(
    runtime: ServiceRuntime,
) -> None:
    # Reported at 09:00 WITA today: the goods must arrive by 09:00 tomorrow, so a lot
    # expiring tomorrow is no longer good on arrival.
    receive(runtime, 50, date(2026, 1, 1), expires_on=TODAY + timedelta(days=1))
    fresh = receive(runtime, 50, date(2026, 8, 1), expires_on=TODAY + timedelta(days=2))
    (planned,) = allocate(runtime, verified(("RICE-5KG", 10)))
    assert isinstance(planned, DispatchPlanned)
    assert [line.lot_id for line in planned.lines] == [fresh]


def test_bad_receipts_and_adjustments_change_nothing(runtime: ServiceRuntime) -> None:
    with pytest.raises(Unprocessable, match="expired"):
        receive(runtime, 10, date(2026, 1, 1), expires_on=TODAY)
    with pytest.raises(Unprocessable, match="no item"):
        receive(runtime, 10, date(2026, 1, 1), item="NOPE")
    with pytest.raises(Unprocessable, match="after today"):
        receive(runtime, 10, TODAY + timedelta(days=2))
    lot_id = receive(runtime, 10, date(2026, 1, 1))
    allocate(runtime, verified(("RICE-5KG", 6)))
    with pytest.raises(Unprocessable, match="reserved"):
        runtime.run(
            lambda uow: stock_changes.adjust_lot(
                uow,
                lot_id,
                AdjustmentIn(delta=-5, reason="rusak (damaged)", approved_by="Kabid"),
                settings(runtime),
            )
        )
    runtime.run(
        lambda uow: stock_changes.adjust_lot(
            uow,
            lot_id,
            AdjustmentIn(delta=-4, reason="rusak (damaged)", approved_by="Kabid"),
            settings(runtime),
        )
    )
    assert lot_state(runtime, lot_id) == (6, 6)
    assert runtime.run(queries.ledger_disagreements) == []


def test_concurrent_allocations_never_over_allocate(runtime: ServiceRuntime) -> None:
    lots = [receive(runtime, 10, date(2026, 1, day)) for day in range(1, 6)]  # 50 units
    events = [verified(("RICE-5KG", 7)) for _ in range(12)]  # 84 units wanted
    errors: list[BaseException] = []
    outcomes: list[list[EventBase]] = []
    start = threading.Barrier(len(events))

    def contend(event: IncidentVerified) -> None:
        start.wait()
        try:
            outcomes.append(allocate(runtime, event))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    states = [lot_state(runtime, lot_id) for lot_id in lots]
    assert states == [(10, 10)] * 5
    planned = [e for emitted in outcomes for e in emitted if isinstance(e, DispatchPlanned)]
    missing = [
        line.missing
        for emitted in outcomes
        for e in emitted
        if isinstance(e, StockShortageDetected)
        for line in e.lines
    ]
    assert sum(line.quantity for p in planned for line in p.lines) == 50
    assert sorted(missing) == [6] + [7] * 4  # one got the last unit, four got nothing
    dispatches = runtime.run(
        lambda uow: queries.list_dispatches(uow, case_id=None, status=None, limit=100).items
    )
    assert sum(line.quantity for d in dispatches for line in d.lines) == 50
    assert runtime.run(queries.ledger_disagreements) == []


@pytest.mark.parametrize("shortage", [False, True], ids=["dispatched", "short"])
def test_a_verification_naming_another_offices_case_is_dead_lettered_and_reserves_nothing(
    runtime: ServiceRuntime, shortage: bool
) -> None:
    """The case is kukar's (a dispatch, or only a shortage): balangan's event naming it
    takes none of balangan's stock into it."""
    if not shortage:
        receive(runtime, 50, date(2026, 10, 1))
    event = verified(("RICE-5KG", 10))
    allocate(runtime, event)
    body = WarehouseIn(
        code="GDG-BLG", name="Gudang Balangan", location=GeoPoint(lat=-2.3, lon=115.6)
    )
    runtime.run(lambda uow: catalogue.register_warehouse(uow, body, "balangan"))
    theirs = receive(runtime, 50, date(2026, 10, 1), warehouse="GDG-BLG")
    foreign = event.model_copy(update={"office_id": "balangan"})

    with pytest.raises(PermanentEventError) as refused:
        allocate(runtime, foreign)

    assert refused.value.reason == "other_office"
    assert lot_state(runtime, theirs) == (50, 0)
    dispatches = runtime.run(lambda uow: uow.session.exec(select(DispatchRow)).all())
    shortages = runtime.run(lambda uow: uow.session.exec(select(ShortageRow)).all())
    offices = {row.office_id for row in dispatches} | {row.office_id for row in shortages}
    assert offices <= {"kukar"}
