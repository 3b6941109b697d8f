"""A month in the warehouse, on SQLite and PostgreSQL: receipts against an order (partial,
with refused goods), incidents picked and released, a permakanan round, a transfer, a
return, a quarantine, and a loss nobody booked; the month-end count finds exactly that
loss, and afterwards the stock card agrees with a count of the goods on the shelves.

The test keeps its own model of the shelves (units per lot), changed only by what
physically happens, and compares the system with it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from services.logistics import allocation, procurement, program_goods, queries, stock_changes
from services.logistics.models.procurement import (
    GoodsReceiptIn,
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestIn,
    ReceiptLineIn,
)
from services.logistics.models.stock import CountIn, CountLineIn, LotRow, QuarantineIn, TransferIn
from shared.contracts.distribution import DeliveryReturned, GoodsRequested, ReturnedLine
from shared.contracts.envelope import CaseType, EventBase, NeedLine
from shared.contracts.logistics import DispatchPlanned, LotQuarantined
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import SITE, clock, consistent, settings, verified

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 WITA


def test_a_month_of_work_and_the_stock_card_agrees_with_the_shelves(
    runtime: ServiceRuntime,
) -> None:
    shelves: Counter[uuid.UUID] = Counter()  # units physically in each lot
    released: list[DispatchPlanned] = []

    def day(n: int) -> date:
        clock(runtime).set(START + timedelta(days=n - 1))
        return (START + timedelta(days=n - 1)).date()

    def emitted(work: object) -> list[EventBase]:
        assert callable(work)

        def collect(uow: UnitOfWork) -> list[EventBase]:
            work(uow)
            return list(uow.emitted)

        return runtime.run(collect)

    def release(planned: DispatchPlanned) -> None:
        runtime.run(
            lambda uow: allocation.release_dispatch(
                uow, planned.dispatch_id, "Rina", settings(runtime)
            )
        )
        for line in planned.lines:
            shelves[line.lot_id] -= line.quantity
        released.append(planned)

    # Day 1: the buffer order goes to the supplier.
    day(1)
    request = runtime.run(
        lambda uow: procurement.request_by_hand(
            uow,
            PurchaseRequestIn(
                source="buffer_stock",
                lines=[
                    ProcurementLineIn(item_code="RICE-5KG", quantity=300),
                    ProcurementLineIn(item_code="FAMILY-KIT", quantity=100),
                ],
                requested_by="Kabid",
            ),
            settings(runtime),
        )
    )
    order = runtime.run(
        lambda uow: procurement.place_order(
            uow,
            PurchaseOrderIn(
                request_id=request.id,
                number="PO-101/DINSOS/2026",
                supplier="CV Sumber Pangan",
                warehouse_code="GDG-TGR",
                expected_on=date(2026, 11, 2),
                lines=[
                    ProcurementLineIn(item_code="RICE-5KG", quantity=300),
                    ProcurementLineIn(item_code="FAMILY-KIT", quantity=100),
                ],
            ),
            settings(runtime),
        )
    )

    def deliver(on: date, *lines: ReceiptLineIn) -> None:
        receipt = runtime.run(
            lambda uow: procurement.receive_goods(
                uow,
                order.id,
                GoodsReceiptIn(received_on=on, received_by="Pak Gudang", lines=list(lines)),
                settings(runtime),
            )
        )
        for accepted in receipt.accepted:
            shelves[accepted.lot_id] += accepted.quantity

    deliver(
        day(2),
        ReceiptLineIn(
            item_code="RICE-5KG",
            delivered=200,
            accepted=190,
            reject_reason="damaged",
            expires_on=date(2027, 5, 1),
        ),
        ReceiptLineIn(item_code="FAMILY-KIT", delivered=100, accepted=100),
    )
    pending: list[DispatchPlanned] = []

    def second_delivery(today: date) -> None:
        deliver(
            today,
            ReceiptLineIn(
                item_code="RICE-5KG", delivered=110, accepted=110, expires_on=date(2027, 2, 1)
            ),
        )

    def incident(_today: date) -> None:
        events = emitted(
            lambda uow: allocation.allocate_for_incident(
                uow, verified(("RICE-5KG", 15), ("FAMILY-KIT", 5)), settings(runtime)
            )
        )
        pending.extend(e for e in events if isinstance(e, DispatchPlanned))

    def permakanan_round(today: date) -> None:
        round_request = GoodsRequested.first(
            office_id="kukar",
            case_id=uuid.uuid4(),
            producer="distribution",
            occurred_at=clock(runtime).now(),
            case_type=CaseType.PERMAKANAN_ROUND,
            purpose="permakanan_round",
            lines=(NeedLine(item_code="RICE-5KG", quantity=60),),
            needed_by=today + timedelta(days=1),
            destination=SITE,
        )
        events = emitted(
            lambda uow: program_goods.on_delivery_event(uow, round_request, settings(runtime))
        )
        pending.extend(e for e in events if isinstance(e, DispatchPlanned))

    def transfer(_today: date) -> None:
        moved = runtime.run(
            lambda uow: stock_changes.transfer_stock(
                uow,
                TransferIn(
                    from_warehouse="GDG-TGR",
                    to_warehouse="GDG-SMD",
                    item_code="RICE-5KG",
                    quantity=40,
                    moved_by="Pak Gudang",
                ),
                settings(runtime),
            )
        )
        for part in moved.lines:
            shelves[part.from_lot] -= part.quantity
            shelves[part.to_lot] += part.quantity

    def returns(_today: date) -> None:
        failed = released[0]
        line = failed.lines[0]
        for quantity, condition in ((3, "good"), (2, "damaged")):
            back = DeliveryReturned.first(
                office_id="kukar",
                case_id=failed.case_id,
                producer="distribution",
                occurred_at=clock(runtime).now(),
                delivery_id=uuid.uuid4(),
                dispatch_id=failed.dispatch_id,
                warehouse_code=failed.warehouse_code,
                lines=(
                    ReturnedLine(item_code=line.item_code, quantity=quantity, lot_id=line.lot_id),
                ),
                condition=condition,
                reason="rumah kosong",
            )
            events = emitted(
                lambda uow, back=back: program_goods.on_delivery_event(uow, back, settings(runtime))
            )
            held = [e.lot_id for e in events if isinstance(e, LotQuarantined)]
            shelves[held[0] if held else line.lot_id] += quantity

    def quarantine(_today: date) -> None:
        torn = next(lot for lot, units in shelves.items() if units >= 5)
        held = runtime.run(
            lambda uow: stock_changes.quarantine_lot(
                uow,
                torn,
                QuarantineIn(quantity=5, reason="damaged", actor="Pak Gudang"),
                settings(runtime),
            )
        )
        shelves[torn] -= 5
        shelves[held.id] += 5

    def unbooked_loss(_today: date) -> None:
        lost = next(
            lot
            for lot, units in shelves.items()
            if units >= 2 and _lot(runtime, lot).warehouse_code == "GDG-TGR"
        )
        shelves[lost] -= 2  # two sacks walk out; nobody books it
        losses.append(lost)

    losses: list[uuid.UUID] = []
    schedule: dict[int, list[Callable[[date], None]]] = {
        9: [second_delivery],
        12: [permakanan_round],
        15: [transfer],
        18: [returns],
        20: [quarantine],
        25: [unbooked_loss],
    }
    for n in range(3, 30):
        today = day(n)
        waiting, pending[:] = list(pending), []
        for planned in waiting:
            release(planned)
        for action in schedule.get(n, []) + ([incident] if n % 3 == 0 else []):
            action(today)

    # Day 30: everything released, the month-end count of the main warehouse.
    today = day(30)
    for planned in pending:
        release(planned)
    lots_here = [lot for lot in shelves if _lot(runtime, lot).warehouse_code == "GDG-TGR"]
    count = runtime.run(
        lambda uow: stock_changes.post_count(
            uow,
            CountIn(
                warehouse_code="GDG-TGR",
                counted_by="Rina",
                approved_by="Kabid Linjamsos",
                reason="opname akhir bulan",
                lines=[CountLineIn(lot_id=lot, counted=shelves[lot]) for lot in lots_here],
            ),
            settings(runtime),
        )
    )
    assert [(line.lot_id, line.difference) for line in count.lines if line.difference] == [
        (losses[0], -2)
    ]
    assert len(released) == 10  # nine incidents and the permakanan round
    for item in ("RICE-5KG", "FAMILY-KIT"):
        for warehouse in ("GDG-TGR", "GDG-SMD"):
            card = runtime.run(
                partial(
                    queries.stock_card,
                    item_code=item,
                    warehouse_code=warehouse,
                    as_of=today,
                    since=None,
                )
            )
            on_shelves = sum(
                units
                for lot, units in shelves.items()
                if (_lot(runtime, lot).item_code, _lot(runtime, lot).warehouse_code)
                == (item, warehouse)
            )
            assert card.closing_balance == on_shelves, (item, warehouse)
    assert all(_lot(runtime, lot).on_hand == units for lot, units in shelves.items())
    assert consistent(runtime)


def _lot(runtime: ServiceRuntime, lot_id: uuid.UUID) -> LotRow:
    row = runtime.run(lambda uow: uow.session.get(LotRow, lot_id))
    assert row is not None
    return row
