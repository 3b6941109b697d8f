"""The stock ledger on SQLite and PostgreSQL: every entry announced, mistakes reversed and
never edited, the stock card as of any date, back-dated postings that cannot rewrite
history into the impossible, transfers, counts, quarantine, and the issue rules held in
every path that lowers stock, also under concurrency and a crash mid-dispatch."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from services.logistics import allocation, catalogue, queries, stock_changes
from services.logistics.models.catalogue import WarehouseIn
from services.logistics.models.dispatch import DispatchRow
from services.logistics.models.stock import (
    AdjustmentIn,
    CountedLot,
    CountIn,
    CountLineIn,
    LotRow,
    MovementRow,
    QuarantineIn,
    ReversalIn,
    StockCard,
    StockCountRow,
    TransferIn,
)
from shared.contracts.envelope import EventBase, GeoPoint
from shared.contracts.logistics import DispatchPlanned, LotQuarantined, MovementKind, StockMoved
from shared.errors import Conflict, NotFound, Unprocessable
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import (
    TODAY,
    allocate,
    clock,
    consistent,
    emitted_by,
    lot_state,
    make_runtime,
    receive,
    settings,
    verified,
)


def adjust(
    runtime: ServiceRuntime, lot_id: uuid.UUID, delta: int, effective_on: date | None = None
) -> LotRow:
    body = AdjustmentIn(
        delta=delta, reason="koreksi (correction)", approved_by="Kabid", effective_on=effective_on
    )
    return runtime.run(lambda uow: stock_changes.adjust_lot(uow, lot_id, body, settings(runtime)))


def card(
    runtime: ServiceRuntime, as_of: date, item: str = "RICE-5KG", warehouse: str = "GDG-TGR"
) -> StockCard:
    return runtime.run(
        lambda uow: queries.stock_card(
            uow, item_code=item, warehouse_code=warehouse, as_of=as_of, since=None
        )
    )


def movements(runtime: ServiceRuntime, lot_id: uuid.UUID) -> list[MovementRow]:
    return list(
        runtime.run(
            lambda uow: (
                queries.list_movements(
                    uow, lot_id=lot_id, dispatch_id=None, after=None, limit=100
                ).items
            )
        )
    )


def test_every_ledger_entry_is_announced_keyed_by_its_lot(runtime: ServiceRuntime) -> None:
    events: list[EventBase] = []
    body_lot = receive(runtime, 30, date(2026, 1, 5))
    event = verified(("RICE-5KG", 12))
    events += emitted_by(
        runtime, lambda uow: allocation.allocate_for_incident(uow, event, settings(runtime))
    )
    (planned,) = [e for e in events if isinstance(e, DispatchPlanned)]
    events += emitted_by(
        runtime,
        lambda uow: allocation.release_dispatch(
            uow, planned.dispatch_id, "Rina", settings(runtime)
        ),
    )
    moved = [e for e in events if isinstance(e, StockMoved)]
    ledger = movements(runtime, body_lot)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta) for m in moved] == [
        (MovementKind.RESERVATION, 0, 12),
        (MovementKind.ISSUE, -12, -12),
    ]
    assert {m.movement_id for m in moved} <= {m.id for m in ledger}
    assert all(m.case_id == body_lot and m.case_type == "stock" for m in moved)
    # Followers can join a movement to the incident it served.
    assert all(m.correlation_id == event.case_id for m in moved)
    assert moved[-1].on_hand_after == 18


def test_a_mistaken_receipt_is_reversed_not_edited(runtime: ServiceRuntime) -> None:
    lot_id = receive(runtime, 50, date(2026, 11, 20))
    (receipt,) = movements(runtime, lot_id)
    body = ReversalIn(reason="salah input (typed twice)", reversed_by="Kabid")
    reversal = runtime.run(
        lambda uow: stock_changes.reverse_movement(uow, receipt.id, body, settings(runtime))
    )
    assert (reversal.kind, reversal.on_hand_delta, reversal.reverses_id) == (
        MovementKind.REVERSAL,
        -50,
        receipt.id,
    )
    assert lot_state(runtime, lot_id) == (0, 0)
    assert [m.kind for m in movements(runtime, lot_id)] == [
        MovementKind.RECEIPT,
        MovementKind.REVERSAL,
    ]
    with pytest.raises(Conflict, match="already reversed"):
        runtime.run(
            lambda uow: stock_changes.reverse_movement(uow, receipt.id, body, settings(runtime))
        )
    with pytest.raises(NotFound):
        runtime.run(
            lambda uow: stock_changes.reverse_movement(uow, uuid.uuid4(), body, settings(runtime))
        )
    assert consistent(runtime)


def test_a_receipt_already_partly_issued_cannot_be_reversed(runtime: ServiceRuntime) -> None:
    lot_id = receive(runtime, 10, date(2026, 11, 1))
    allocate(runtime, verified(("RICE-5KG", 4)))
    (receipt, reservation) = movements(runtime, lot_id)
    body = ReversalIn(reason="salah input", reversed_by="Kabid")
    with pytest.raises(Unprocessable, match="reserved"):
        runtime.run(
            lambda uow: stock_changes.reverse_movement(uow, receipt.id, body, settings(runtime))
        )
    with pytest.raises(Unprocessable) as refused:
        runtime.run(
            lambda uow: stock_changes.reverse_movement(uow, reservation.id, body, settings(runtime))
        )
    assert refused.value.error_code == "not_reversible"
    assert lot_state(runtime, lot_id) == (10, 4)


def test_stock_card_as_of_any_date_agrees_with_the_lots(runtime: ServiceRuntime) -> None:
    first = receive(runtime, 100, date(2026, 9, 1))
    receive(runtime, 40, date(2026, 10, 15))
    adjust(runtime, first, -3, effective_on=date(2026, 10, 1))  # found short, dated then
    (planned,) = allocate(runtime, verified(("RICE-5KG", 120)))
    assert isinstance(planned, DispatchPlanned)
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    september = card(runtime, date(2026, 9, 30))
    assert [(x.kind, x.quantity_in, x.balance) for x in september.lines] == [
        (MovementKind.RECEIPT, 100, 100)
    ]
    today = card(runtime, TODAY)
    assert [(x.date, x.quantity_in, x.quantity_out, x.balance) for x in today.lines] == [
        (date(2026, 9, 1), 100, 0, 100),
        (date(2026, 10, 1), 0, 3, 97),
        (date(2026, 10, 15), 40, 0, 137),
        # Two issues of one release, same instant: removals in a stable order.
        (TODAY, 0, 23, 114),
        (TODAY, 0, 97, 17),
    ]
    on_hand = sum(
        lot.on_hand
        for lot in runtime.run(
            lambda uow: queries.list_lots(
                uow, item_code="RICE-5KG", warehouse_code="GDG-TGR", include_empty=True
            )
        )
    )
    assert today.closing_balance == on_hand == 17
    since = runtime.run(
        lambda uow: queries.stock_card(
            uow,
            item_code="RICE-5KG",
            warehouse_code="GDG-TGR",
            as_of=TODAY,
            since=date(2026, 10, 10),
        )
    )
    assert (since.opening_balance, since.closing_balance, len(since.lines)) == (97, 17, 3)
    with pytest.raises(Unprocessable):
        card(runtime, TODAY, item="NOPE")


def test_a_backdated_decrease_cannot_make_the_past_negative(runtime: ServiceRuntime) -> None:
    lot_id = receive(runtime, 10, date(2026, 1, 1))
    (planned,) = allocate(runtime, verified(("RICE-5KG", 8)))
    assert isinstance(planned, DispatchPlanned)
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    with pytest.raises(Unprocessable, match="negative"):
        adjust(runtime, lot_id, -3, effective_on=date(2026, 2, 1))
    with pytest.raises(Unprocessable, match="received"):
        adjust(runtime, lot_id, -1, effective_on=date(2025, 12, 1))
    with pytest.raises(Unprocessable, match="future"):
        adjust(runtime, lot_id, 1, effective_on=TODAY + timedelta(days=1))
    assert lot_state(runtime, lot_id) == (2, 0)
    adjust(runtime, lot_id, -2, effective_on=date(2026, 2, 1))
    assert lot_state(runtime, lot_id) == (0, 0)
    assert [x.balance for x in card(runtime, TODAY).lines] == [10, 8, 0]
    assert consistent(runtime)


def test_transfer_moves_the_oldest_usable_goods_keeping_their_dates(
    runtime: ServiceRuntime,
) -> None:
    old = receive(runtime, 10, date(2026, 2, 1), expires_on=date(2027, 2, 1))
    new = receive(runtime, 30, date(2026, 8, 1), expires_on=date(2027, 8, 1))
    damaged = receive(runtime, 50, date(2025, 12, 1))
    quarantine(runtime, damaged, 50)
    body = TransferIn(
        from_warehouse="GDG-TGR",
        to_warehouse="GDG-SMD",
        item_code="RICE-5KG",
        quantity=15,
        moved_by="Pak Gudang",
    )
    transfer = runtime.run(lambda uow: stock_changes.transfer_stock(uow, body, settings(runtime)))
    assert [(line.from_lot, line.quantity) for line in transfer.lines] == [(old, 10), (new, 5)]
    arrived = runtime.run(
        lambda uow: queries.list_lots(
            uow, item_code="RICE-5KG", warehouse_code="GDG-SMD", include_empty=False
        )
    )
    assert [(lot.received_on, lot.expires_on, lot.on_hand) for lot in arrived] == [
        (date(2026, 2, 1), date(2027, 2, 1), 10),
        (date(2026, 8, 1), date(2027, 8, 1), 5),
    ]
    assert card(runtime, TODAY, warehouse="GDG-SMD").closing_balance == 15
    assert card(runtime, TODAY).closing_balance == 75  # 25 good + 50 quarantined
    too_much = body.model_copy(update={"quantity": 26})
    with pytest.raises(Unprocessable, match="25 usable"):
        runtime.run(lambda uow: stock_changes.transfer_stock(uow, too_much, settings(runtime)))
    same = body.model_copy(update={"to_warehouse": "GDG-TGR"})
    with pytest.raises(Unprocessable, match="two different"):
        runtime.run(lambda uow: stock_changes.transfer_stock(uow, same, settings(runtime)))
    assert lot_state(runtime, new) == (25, 0)
    assert consistent(runtime)


def quarantine(runtime: ServiceRuntime, lot_id: uuid.UUID, quantity: int) -> list[EventBase]:
    body = QuarantineIn(
        quantity=quantity, reason="damaged", note="karung sobek", actor="Pak Gudang"
    )
    return emitted_by(
        runtime, lambda uow: stock_changes.quarantine_lot(uow, lot_id, body, settings(runtime))
    )


def test_quarantined_goods_are_never_issued_even_when_oldest(runtime: ServiceRuntime) -> None:
    oldest = receive(runtime, 20, date(2026, 1, 1))
    newer = receive(runtime, 20, date(2026, 6, 1))
    events = quarantine(runtime, oldest, 15)
    (held_event,) = [e for e in events if isinstance(e, LotQuarantined)]
    assert (held_event.quantity, held_event.reason) == (15, "damaged")
    (planned,) = allocate(runtime, verified(("RICE-5KG", 10)))
    assert isinstance(planned, DispatchPlanned)
    assert [(line.lot_id, line.quantity) for line in planned.lines] == [(oldest, 5), (newer, 5)]
    held = runtime.run(lambda uow: uow.session.get(LotRow, held_event.lot_id))
    assert held is not None and (held.condition, held.on_hand, held.reserved) == (
        "quarantined",
        15,
        0,
    )
    # Units promised to a dispatch cannot be quarantined out from under it.
    with pytest.raises(Conflict) as refused:
        quarantine(runtime, newer, 16)
    assert refused.value.error_code == "lot_being_picked"
    with pytest.raises(Conflict, match="already quarantined"):
        quarantine(runtime, held_event.lot_id, 1)
    assert consistent(runtime)


def test_count_posts_the_differences_and_refuses_a_lot_being_picked(
    runtime: ServiceRuntime,
) -> None:
    counted_lot = receive(runtime, 40, date(2026, 3, 1))
    picked = receive(runtime, 10, date(2026, 4, 1), item="FAMILY-KIT")
    other = receive(runtime, 5, date(2026, 4, 1), warehouse="GDG-SMD")
    allocate(runtime, verified(("FAMILY-KIT", 2)))

    def count(*lines: tuple[uuid.UUID, int]) -> StockCountRow:
        body = CountIn(
            warehouse_code="GDG-TGR",
            counted_by="Rina",
            approved_by="Kabid Linjamsos",
            reason="opname akhir bulan",
            lines=[CountLineIn(lot_id=lot, counted=n) for lot, n in lines],
        )
        return runtime.run(lambda uow: stock_changes.post_count(uow, body, settings(runtime)))

    with pytest.raises(Conflict) as busy:
        count((counted_lot, 38), (picked, 10))
    assert busy.value.error_code == "lot_being_picked"
    with pytest.raises(Unprocessable, match="GDG-SMD"):
        count((other, 4))
    with pytest.raises(NotFound):
        count((uuid.uuid4(), 4))
    assert lot_state(runtime, counted_lot) == (40, 0)  # nothing changed by the refusals

    posted = count((counted_lot, 38))
    assert posted.lines == [
        CountedLot(lot_id=counted_lot, item_code="RICE-5KG", book=40, counted=38, difference=-2)
    ]
    assert lot_state(runtime, counted_lot) == (38, 0)
    (_, adjustment) = movements(runtime, counted_lot)
    assert adjustment.kind == MovementKind.ADJUSTMENT and adjustment.actor == "Kabid Linjamsos"
    assert adjustment.reference is not None and adjustment.reference.startswith("OPNAME-")
    assert card(runtime, TODAY).closing_balance == 38


def test_a_lot_that_expired_while_waiting_is_not_released_and_cancel_frees_it(
    runtime: ServiceRuntime,
) -> None:
    lot_id = receive(runtime, 10, date(2026, 6, 1), expires_on=TODAY + timedelta(days=3))
    (planned,) = allocate(runtime, verified(("RICE-5KG", 4)))
    assert isinstance(planned, DispatchPlanned)
    clock(runtime).advance(timedelta(days=3))
    with pytest.raises(Conflict) as expired:
        runtime.run(
            lambda uow: allocation.release_dispatch(
                uow, planned.dispatch_id, "Rina", settings(runtime)
            )
        )
    assert expired.value.error_code == "lot_expired"
    assert lot_state(runtime, lot_id) == (10, 4)
    runtime.run(
        lambda uow: allocation.cancel_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    assert lot_state(runtime, lot_id) == (10, 0)
    with pytest.raises(Conflict):
        runtime.run(
            lambda uow: allocation.cancel_dispatch(
                uow, planned.dispatch_id, "Rina", settings(runtime)
            )
        )
    assert consistent(runtime)


def test_a_crash_mid_dispatch_leaves_nothing_both_reserved_and_free(
    runtime: ServiceRuntime,
) -> None:
    lot_id = receive(runtime, 10, date(2026, 6, 1))

    def crashes_after_reserving(uow: UnitOfWork) -> None:
        allocation.allocate_for_incident(uow, verified(("RICE-5KG", 6)), settings(runtime))
        raise ConnectionResetError("process killed between reservation and commit")

    with pytest.raises(ConnectionResetError):
        runtime.run(crashes_after_reserving)
    assert lot_state(runtime, lot_id) == (10, 0)
    assert runtime.run(lambda uow: uow.session.exec(select(DispatchRow)).all()) == []
    assert [m.kind for m in movements(runtime, lot_id)] == [MovementKind.RECEIPT]
    assert consistent(runtime)


def test_transfers_and_allocations_competing_for_the_same_lots_never_double_allocate(
    runtime: ServiceRuntime,
) -> None:
    lots = [receive(runtime, 10, date(2026, 1, day)) for day in range(1, 7)]  # 60 units
    errors: list[BaseException] = []
    reserved_for: list[int] = []  # what each allocation believes it got
    moved: list[int] = []  # what each transfer believes it moved
    start = threading.Barrier(12)

    def contend(index: int) -> None:
        start.wait()
        try:
            if index % 2:
                emitted = allocate(runtime, verified(("RICE-5KG", 7)))
                reserved_for.extend(
                    line.quantity
                    for e in emitted
                    if isinstance(e, DispatchPlanned)
                    for line in e.lines
                )
            else:
                body = TransferIn(
                    from_warehouse="GDG-TGR",
                    to_warehouse="GDG-SMD",
                    item_code="RICE-5KG",
                    quantity=7,
                    moved_by="Pak Gudang",
                )
                runtime.run(lambda uow: stock_changes.transfer_stock(uow, body, settings(runtime)))
                moved.append(7)
        except Unprocessable:
            pass  # a transfer that found too little free stock: refused, nothing changed
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every_lot = runtime.run(
        lambda uow: queries.list_lots(
            uow, item_code="RICE-5KG", warehouse_code=None, include_empty=True
        )
    )
    assert all(0 <= lot.reserved <= lot.on_hand for lot in every_lot)
    assert sum(lot.on_hand for lot in every_lot) == 60  # transfers move, never create
    # 12 x 7 = 84 units were wanted from 60: nothing was promised twice.
    assert sum(reserved_for) == sum(lot.reserved for lot in every_lot) <= 60
    assert sum(moved) == card(runtime, TODAY, warehouse="GDG-SMD").closing_balance
    assert lots[0] in {lot.id for lot in every_lot}
    assert consistent(runtime)


def test_allocation_reads_lots_through_the_issue_order_index(runtime: ServiceRuntime) -> None:
    receive(runtime, 10, date(2026, 1, 1))
    engine = runtime.engine
    query = (
        "SELECT id FROM lot WHERE item_code = 'RICE-5KG' AND warehouse_code = 'GDG-TGR' "
        "AND condition = 'good' AND on_hand > reserved "
        "AND (expires_on IS NULL OR expires_on > '2026-12-24') "
        "ORDER BY received_on, id LIMIT 8"
    )
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
            )
        else:
            connection.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {query}")))
    assert "ix_lot_issue_order" in plan
    assert "TEMP B-TREE" not in plan.upper()  # no sort: the index gives the order


def test_a_wib_offices_warehouse_judges_today_in_wib(database_url: str) -> None:
    # 16:30 UTC: already the next day in WITA (00:30) but still today in WIB (23:30). A lot
    # received "tomorrow" by the WITA calendar is from the future for a WIB warehouse.
    runtime = make_runtime(database_url)
    try:
        body = WarehouseIn(
            code="GDG-LLG", name="Gudang Lubuklinggau", location=GeoPoint(lat=-3.29, lon=102.86)
        )
        runtime.run(lambda uow: catalogue.register_warehouse(uow, body, "lubuklinggau"))
        clock(runtime).set(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
        wita_date = date(2026, 11, 24)
        assert receive(runtime, 5, wita_date)  # Tenggarong's (WITA) warehouse: today
        with pytest.raises(Unprocessable, match="after today \\(2026-11-23\\)"):
            receive(runtime, 5, wita_date, warehouse="GDG-LLG")
        assert receive(runtime, 5, date(2026, 11, 23), warehouse="GDG-LLG")
    finally:
        runtime.engine.dispose()


def test_allocation_takes_a_lot_near_expiry_first_then_the_oldest_with_or_without_expiry(
    runtime: ServiceRuntime,
) -> None:
    # 001: "metode FIFO"; 000: never expired. Through both indexes, on both databases.
    undated_oldest = receive(runtime, 10, date(2025, 3, 1))
    dated_newer = receive(runtime, 10, date(2025, 6, 1), expires_on=date(2028, 1, 1))
    expiring_soon = receive(runtime, 10, date(2026, 9, 1), expires_on=TODAY + timedelta(days=20))
    newest_undated = receive(runtime, 10, date(2026, 10, 1))
    allocate(runtime, verified(("RICE-5KG", 25)))
    assert lot_state(runtime, expiring_soon) == (10, 10)
    assert lot_state(runtime, undated_oldest) == (10, 10)
    assert lot_state(runtime, dated_newer) == (10, 5)
    assert lot_state(runtime, newest_undated) == (10, 0)
