"""Procurement and program goods on SQLite and PostgreSQL: a goods request is planned from
stock with its own case and the rest is bought; receipts accept partial deliveries and
refuse short, damaged or expired goods; returned deliveries are booked back (or held in
quarantine when damaged); bad receipts and bad events change nothing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from functools import partial

import pytest

from services.logistics import (
    allocation,
    documents,
    procurement,
    procurement_progress,
    program_goods,
    queries,
)
from services.logistics.models.dispatch import HandoverIn
from services.logistics.models.procurement import (
    GoodsReceiptIn,
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestIn,
    ReceiptLineIn,
)
from services.logistics.models.stock import LotRow
from services.logistics.ui.procurement import follow_page
from shared.contracts.distribution import (
    DeliveryReturned,
    GoodsRequested,
    PermakananRoundCompleted,
    ReturnedLine,
)
from shared.contracts.envelope import CaseType, EventBase, NeedLine
from shared.contracts.logistics import (
    DispatchPlanned,
    GoodsReceived,
    LotQuarantined,
    MovementKind,
    ProcurementCompleted,
    PurchaseRequested,
)
from shared.contracts.union import AnyEvent
from shared.errors import Conflict, PermanentEventError, Unprocessable
from shared.runtime import ServiceRuntime
from tests.logistics.support import (
    NOW,
    SITE,
    TODAY,
    allocate,
    clock,
    consistent,
    emitted_by,
    lot_state,
    receive,
    settings,
    verified,
)


def goods_request(
    *needs: tuple[str, int],
    needed_by: date = TODAY + timedelta(days=14),
    keep_until: date | None = None,
) -> GoodsRequested:
    return GoodsRequested.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="distribution",
        occurred_at=NOW,
        case_type=CaseType.PERMAKANAN_ROUND,
        purpose="permakanan_round",
        lines=tuple(NeedLine(item_code=c, quantity=q) for c, q in needs),
        needed_by=needed_by,
        destination=SITE,
        keep_until=keep_until,
    )


def consume(runtime: ServiceRuntime, event: AnyEvent) -> list[EventBase]:
    return emitted_by(
        runtime, lambda uow: program_goods.on_delivery_event(uow, event, settings(runtime))
    )


def order(runtime: ServiceRuntime, request_id: uuid.UUID, *lines: tuple[str, int]) -> uuid.UUID:
    body = PurchaseOrderIn(
        request_id=request_id,
        number=f"PO-{uuid.uuid4().hex[:6]}/DINSOS/2026",
        supplier="CV Sumber Pangan",
        warehouse_code="GDG-TGR",
        expected_on=clock(runtime).now().date() + timedelta(days=7),
        lines=[ProcurementLineIn(item_code=c, quantity=q) for c, q in lines],
    )
    return runtime.run(lambda uow: procurement.place_order(uow, body, settings(runtime))).id


def deliver(runtime: ServiceRuntime, order_id: uuid.UUID, *lines: ReceiptLineIn) -> list[EventBase]:
    body = GoodsReceiptIn(
        received_on=clock(runtime).now().date(), received_by="Pak Gudang", lines=list(lines)
    )
    return emitted_by(
        runtime, lambda uow: procurement.receive_goods(uow, order_id, body, settings(runtime))
    )


def test_goods_request_is_planned_from_stock_and_the_rest_bought_then_planned(
    runtime: ServiceRuntime,
) -> None:
    in_stock = receive(runtime, 60, date(2026, 5, 1), expires_on=date(2027, 5, 1))
    # Expires before the round's goods are out plus the delivery margin: not for this round.
    receive(runtime, 500, date(2026, 2, 1), expires_on=TODAY + timedelta(days=20))
    request = goods_request(("RICE-5KG", 100))
    first = consume(runtime, request)
    (planned,) = [e for e in first if isinstance(e, DispatchPlanned)]
    (asked,) = [e for e in first if isinstance(e, PurchaseRequested)]
    assert (planned.case_id, planned.case_type) == (request.case_id, CaseType.PERMAKANAN_ROUND)
    assert [(line.lot_id, line.quantity) for line in planned.lines] == [(in_stock, 60)]
    assert (asked.source, asked.source_case_id, asked.case_type) == (
        "permakanan_round",
        request.case_id,
        CaseType.PROCUREMENT,
    )
    assert [(line.item_code, line.quantity) for line in asked.lines] == [("RICE-5KG", 40)]

    order_id = order(runtime, asked.case_id, ("RICE-5KG", 40))
    partial = deliver(
        runtime,
        order_id,
        ReceiptLineIn(
            item_code="RICE-5KG",
            delivered=30,
            accepted=25,
            reject_reason="damaged",
            expires_on=date(2027, 10, 1),
        ),
    )
    (received,) = [e for e in partial if isinstance(e, GoodsReceived)]
    assert not received.order_complete
    assert [(r.quantity, r.reason) for r in received.rejected] == [(5, "damaged")]
    assert not any(isinstance(e, DispatchPlanned) for e in partial)

    rest = deliver(
        runtime,
        order_id,
        ReceiptLineIn(
            item_code="RICE-5KG", delivered=15, accepted=15, expires_on=date(2027, 11, 1)
        ),
    )
    assert [type(e).__name__ for e in rest if type(e).__name__ != "StockMoved"] == [
        "GoodsReceived",
        "ProcurementCompleted",
        "DispatchPlanned",
    ]
    (done,) = [e for e in rest if isinstance(e, ProcurementCompleted)]
    assert done.source_case_id == request.case_id
    (second,) = [e for e in rest if isinstance(e, DispatchPlanned)]
    assert second.case_id == request.case_id
    assert sum(line.quantity for line in second.lines) == 40
    with pytest.raises(Conflict) as closed:
        deliver(runtime, order_id, ReceiptLineIn(item_code="RICE-5KG", delivered=1, accepted=1))
    assert closed.value.error_code == "order_closed"
    requests = runtime.run(
        lambda uow: [
            procurement.request_out(uow, r, settings(runtime))
            for r in procurement.list_requests(uow, limit=5).items
        ]
    )
    assert [(r.status, r.lead_time_days, r.standard_days, r.overdue) for r in requests] == [
        ("completed", 0, 60, False)
    ]
    assert consistent(runtime)


def test_permakanan_food_must_last_the_whole_round_not_only_its_first_week(
    runtime: ServiceRuntime,
) -> None:
    # 000: parcels handed over "tidak cacat dan tidak kadaluwarsa", every one of the round.
    round_start, round_end = TODAY + timedelta(days=14), TODAY + timedelta(days=74)
    receive(runtime, 100, date(2026, 2, 1), expires_on=round_start + timedelta(days=30))
    lasting = receive(runtime, 100, date(2026, 5, 1), expires_on=round_end + timedelta(days=1))
    request = goods_request(("RICE-5KG", 40), needed_by=round_start, keep_until=round_end)
    (planned,) = [e for e in consume(runtime, request) if isinstance(e, DispatchPlanned)]
    assert [(line.lot_id, line.quantity) for line in planned.lines] == [(lasting, 40)]


def test_bad_receipts_are_refused_and_change_nothing(runtime: ServiceRuntime) -> None:
    body = PurchaseRequestIn(
        source="buffer_stock",
        lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=20)],
        requested_by="Kabid",
    )
    events = emitted_by(
        runtime, lambda uow: procurement.request_by_hand(uow, body, settings(runtime))
    )
    (asked,) = events
    assert isinstance(asked, PurchaseRequested)
    order_id = order(runtime, asked.case_id, ("FAMILY-KIT", 20))
    refusals = [
        (ReceiptLineIn(item_code="RICE-5KG", delivered=5, accepted=5), "not_ordered"),
        (ReceiptLineIn(item_code="FAMILY-KIT", delivered=25, accepted=25), "accepted_over_order"),
        (
            ReceiptLineIn(item_code="FAMILY-KIT", delivered=10, accepted=8),
            "rejection_reason_missing",
        ),
        (ReceiptLineIn(item_code="FAMILY-KIT", delivered=5, accepted=6), "accepted_out_of_range"),
    ]
    for line, code in refusals:
        with pytest.raises(Unprocessable) as refused:
            deliver(runtime, order_id, line)
        assert refused.value.error_code == code, line
    expired = deliver(
        runtime,
        order_id,
        ReceiptLineIn(item_code="FAMILY-KIT", delivered=20, accepted=20, expires_on=TODAY),
    )
    (checked,) = [e for e in expired if isinstance(e, GoodsReceived)]
    assert checked.accepted == () and [(r.quantity, r.reason) for r in checked.rejected] == [
        (20, "expired")
    ]
    assert (
        runtime.run(
            lambda uow: queries.list_lots(
                uow, item_code=None, warehouse_code=None, include_empty=True
            )
        )
        == []
    )
    with pytest.raises(Unprocessable) as stray:
        order(runtime, asked.case_id, ("RICE-5KG", 1))
    assert stray.value.error_code == "not_requested"
    with pytest.raises(Unprocessable):
        runtime.run(
            lambda uow: procurement.request_by_hand(
                uow,
                body.model_copy(
                    update={"lines": [ProcurementLineIn(item_code="NOPE", quantity=1)]}
                ),
                settings(runtime),
            )
        )


def test_returned_goods_go_back_to_their_lot_or_into_quarantine(runtime: ServiceRuntime) -> None:
    lot_id = receive(runtime, 20, date(2026, 6, 1))
    (planned,) = allocate(runtime, verified(("RICE-5KG", 10)))
    assert isinstance(planned, DispatchPlanned)
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )

    def returned(quantity: int, condition: str, lot: uuid.UUID | None = None) -> DeliveryReturned:
        return DeliveryReturned.first(
            office_id="kukar",
            case_id=planned.case_id,
            producer="distribution",
            occurred_at=NOW,
            delivery_id=uuid.uuid4(),
            dispatch_id=planned.dispatch_id,
            warehouse_code="GDG-TGR",
            lines=(ReturnedLine(item_code="RICE-5KG", quantity=quantity, lot_id=lot),),
            condition=condition,
            reason="penerima pindah alamat",
        )

    consume(runtime, returned(3, "good"))  # lot found from the dispatch
    assert lot_state(runtime, lot_id) == (13, 0)
    events = consume(runtime, returned(2, "damaged", lot_id))
    (held,) = [e for e in events if isinstance(e, LotQuarantined)]
    quarantined = runtime.run(lambda uow: uow.session.get(LotRow, held.lot_id))
    assert quarantined is not None
    assert (quarantined.condition, quarantined.on_hand, quarantined.parent_lot_id) == (
        "quarantined",
        2,
        lot_id,
    )
    kinds = [
        m.kind
        for m in runtime.run(
            lambda uow: (
                queries.list_movements(
                    uow, lot_id=None, dispatch_id=planned.dispatch_id, after=None, limit=20
                ).items
            )
        )
    ]
    assert kinds.count(MovementKind.RETURN) == 2
    # 10 left for the dispatch, 5 came back: a sixth unit never left.
    with pytest.raises(PermanentEventError) as over:
        consume(runtime, returned(6, "good"))
    assert over.value.reason == "over_return"
    with pytest.raises(PermanentEventError) as unknown:
        consume(runtime, returned(1, "good", uuid.uuid4()))
    assert unknown.value.reason == "unknown_lot"
    # Another office cannot book goods back into this office's lot or dispatch.
    with pytest.raises(PermanentEventError) as foreign:
        consume(runtime, returned(1, "good").model_copy(update={"office_id": "balangan"}))
    assert foreign.value.reason == "other_office"
    assert lot_state(runtime, lot_id) == (13, 0)
    assert consistent(runtime)


def test_other_events_on_the_deliveries_topic_change_nothing(runtime: ServiceRuntime) -> None:
    other = PermakananRoundCompleted.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="distribution",
        occurred_at=NOW,
        program_id=uuid.uuid4(),
        round_number=1,
        delivered=10,
        returned=0,
    )
    assert consume(runtime, other) == []


def test_sandang_lead_time_runs_from_request_to_handover_against_three_months(
    runtime: ServiceRuntime,
) -> None:
    request = goods_request(("FAMILY-KIT", 30)).model_copy(
        update={"case_type": CaseType.SANDANG_REQUEST, "purpose": "sandang_request"}
    )
    (asked,) = [e for e in consume(runtime, request) if isinstance(e, PurchaseRequested)]
    clock(runtime).advance(timedelta(days=80))
    order_id = order(runtime, asked.case_id, ("FAMILY-KIT", 30))
    delivered = deliver(
        runtime, order_id, ReceiptLineIn(item_code="FAMILY-KIT", delivered=30, accepted=30)
    )
    (planned,) = [e for e in delivered if isinstance(e, DispatchPlanned)]
    assert planned.case_id == request.case_id

    def view() -> tuple[int, bool, bool]:
        (row,) = runtime.run(
            lambda uow: [
                procurement.request_out(uow, r, settings(runtime))
                for r in procurement.list_requests(uow, limit=5).items
            ]
        )
        return row.lead_time_days, row.handed_over_at is not None, row.overdue

    assert view() == (80, False, False)  # goods in, not handed over: the clock runs
    clock(runtime).advance(timedelta(days=15))
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    runtime.run(
        lambda uow: documents.record_handover(
            uow,
            planned.dispatch_id,
            HandoverIn(
                handed_over_by="Rina",
                received_by="Ibu Kepala Asrama",
                receiver_organisation="Asrama SLB Negeri Tenggarong",
            ),
        )
    )
    clock(runtime).advance(timedelta(days=30))
    assert view() == (95, True, True)  # stopped at the BAST, 5 days past 3 months


def test_a_goods_request_naming_another_offices_case_is_dead_lettered(
    runtime: ServiceRuntime,
) -> None:
    """kukar's round already has its dispatch; balangan's request for that case is not
    planned, and no purchase request is raised for it."""
    receive(runtime, 60, date(2026, 5, 1), expires_on=date(2027, 5, 1))
    request = goods_request(("RICE-5KG", 10))
    consume(runtime, request)
    foreign = request.model_copy(update={"event_id": uuid.uuid4(), "office_id": "balangan"})
    with pytest.raises(PermanentEventError) as refused:
        consume(runtime, foreign)
    assert refused.value.reason == "other_office"
    requests = runtime.run(lambda uow: procurement.list_requests(uow, limit=10).items)
    assert requests == []


def test_the_followed_procurements_page_newest_first_by_stage_each_once(
    runtime: ServiceRuntime,
) -> None:
    """The procurement screen's list: newest first (two raised in the same second keep one
    order), a cursor that neither skips nor repeats a request across pages, and a stage
    filter decided batch by batch still giving full pages."""

    def raised(quantity: int) -> uuid.UUID:
        body = PurchaseRequestIn(
            source="buffer_stock",
            lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=quantity)],
            requested_by="Kabid",
        )
        return runtime.run(lambda uow: procurement.request_by_hand(uow, body, settings(runtime))).id

    def ordered(request_id: uuid.UUID, quantity: int) -> None:
        body = PurchaseOrderIn(
            request_id=request_id,
            number=f"PO-{uuid.uuid4().hex[:6]}",
            supplier="CV Kutai Sandang",
            warehouse_code="GDG-TGR",
            expected_on=TODAY,
            lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=quantity)],
        )
        runtime.run(lambda uow: procurement.place_order(uow, body, settings(runtime)))

    ids = []
    for number in range(7):
        if number % 3:  # some raised in the same instant as the one before
            clock(runtime).advance(timedelta(minutes=5))
        ids.append(raised(10))
    ordered(ids[1], 10)  # all on order
    ordered(ids[4], 10)
    ordered(ids[5], 4)  # still 6 to order
    stamped = {
        row.id: row.requested_at
        for row in runtime.run(
            lambda uow: procurement_progress.requests_newest_first(
                uow, completed=None, after=None, limit=99
            )
        )
    }
    newest_first = sorted(ids, key=lambda id_: (stamped[id_], id_), reverse=True)

    def pages(stage: procurement_progress.ProcurementStage | None) -> list[list[uuid.UUID]]:
        seen: list[list[uuid.UUID]] = []
        after = None
        while True:
            page = runtime.run(
                partial(
                    follow_page,
                    stage=stage,
                    after=after,
                    limit=2,
                    settings=settings(runtime),
                    zone=settings(runtime).zone(None),
                    batch=2,
                )
            )
            seen.append([entry.request.id for entry in page.rows])
            if page.next_after is None:
                return seen
            after = page.next_after

    everything = pages(None)
    assert [len(page) for page in everything] == [2, 2, 2, 1]
    assert [id_ for page in everything for id_ in page] == newest_first
    on_order = [id_ for id_ in newest_first if id_ in {ids[1], ids[4]}]
    assert pages("on_order") == [on_order]
    to_order = pages("to_order")
    assert [len(page) for page in to_order] == [2, 2, 1]
    assert [id_ for page in to_order for id_ in page] == [
        id_ for id_ in newest_first if id_ not in on_order
    ]
    assert pages("completed") == [[]]
