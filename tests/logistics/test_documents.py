"""Pick lists and handover records (BAST), signed off and printable; buffer stock, reorder
suggestions and near-expiry alerts. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.logistics import alerts, allocation, catalogue, documents
from services.logistics.models import (
    HandoverIn,
    ItemUpdate,
    LotPlacement,
    MinimumLevelIn,
    PickSignIn,
    WarehouseRow,
)
from shared.events import DispatchPlanned
from shared.events_stock import LotNearExpiry, LotQuarantined, StockBelowMinimum
from shared.http import Conflict, NotFound, Unprocessable
from shared.runtime import ServiceRuntime
from tests.logistics.support import (
    TODAY,
    allocate,
    clock,
    emitted_by,
    lot_state,
    receive,
    settings,
    verified,
)


def test_pick_list_signed_then_released_then_handed_over_with_printable_papers(
    runtime: ServiceRuntime,
) -> None:
    oldest = receive(runtime, 5, date(2026, 1, 1), item="FAMILY-KIT")
    newer = receive(runtime, 50, date(2026, 5, 1), item="FAMILY-KIT")
    (planned,) = allocate(runtime, verified(("FAMILY-KIT", 8)))
    assert isinstance(planned, DispatchPlanned)
    dispatch_id = planned.dispatch_id
    runtime.run(lambda uow: catalogue.place_lot(uow, newer, LotPlacement(bin_location="R2-B3")))
    pick = runtime.run(lambda uow: documents.pick_list(uow, dispatch_id))
    assert [line.bin_location for line in pick.lines] == [None, "R2-B3"]
    assert [(line.lot_id, line.quantity) for line in pick.lines] == [(oldest, 5), (newer, 3)]
    early = HandoverIn(
        handed_over_by="Rina", received_by="Pak Lurah", receiver_organisation="Desa X"
    )
    with pytest.raises(Conflict) as not_yet:
        runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert not_yet.value.error_code == "dispatch_not_released"

    signed = runtime.run(
        lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by="Budi"))
    )
    assert signed.picked_by == "Budi" and signed.picked_at is not None
    with pytest.raises(Conflict):
        runtime.run(
            lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by="Budi"))
        )
    pdf = documents.pick_list_pdf(signed, settings(runtime).zone())
    assert pdf.startswith(b"%PDF") and len(pdf) > 800

    runtime.run(
        lambda uow: allocation.release_dispatch(uow, dispatch_id, "Rina", settings(runtime))
    )
    handover = runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert handover.number.startswith("BAST/")
    assert [(line["item_code"], line["quantity"]) for line in handover.lines] == [("FAMILY-KIT", 8)]
    with pytest.raises(Conflict) as twice:
        runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert twice.value.error_code == "handover_exists"
    warehouse = runtime.run(lambda uow: uow.session.get(WarehouseRow, "GDG-TGR"))
    assert warehouse is not None
    bast = documents.handover_pdf(handover, warehouse, settings(runtime).zone())
    assert bast.startswith(b"%PDF")
    with pytest.raises(NotFound):
        runtime.run(lambda uow: documents.get_handover(uow, newer))


def test_falling_below_the_buffer_level_is_announced_once_and_suggests_an_order(
    runtime: ServiceRuntime,
) -> None:
    receive(runtime, 100, date(2026, 5, 1))
    level = MinimumLevelIn(
        item_code="RICE-5KG", warehouse_code="GDG-TGR", households=20, per_household_per_day=1
    )
    row = runtime.run(lambda uow: alerts.set_minimum(uow, level))
    assert (row.minimum, row.basis) == (60, "20 households x 1/day x 3 days")
    first = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 30)), settings(runtime)
        ),
    )
    assert not any(isinstance(e, StockBelowMinimum) for e in first)  # 70 free >= 60
    second = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 25)), settings(runtime)
        ),
    )
    (below,) = [e for e in second if isinstance(e, StockBelowMinimum)]
    assert (below.available, below.minimum, below.suggested_order) == (45, 60, 15)
    third = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 5)), settings(runtime)
        ),
    )
    assert not any(isinstance(e, StockBelowMinimum) for e in third)  # already below
    (suggestion,) = runtime.run(alerts.reorder_suggestions)
    assert (suggestion.free, suggestion.suggested_order) == (40, 20)
    with pytest.raises(Unprocessable):
        runtime.run(
            lambda uow: alerts.set_minimum(
                uow, MinimumLevelIn(item_code="RICE-5KG", warehouse_code="GDG-TGR")
            )
        )


def test_sweep_warns_once_before_expiry_and_quarantines_what_expired(
    runtime: ServiceRuntime,
) -> None:
    soon = receive(runtime, 10, date(2026, 6, 1), expires_on=TODAY + timedelta(days=10))
    # A short window for rice: 10 days left is not "near" yet, then it is.
    runtime.run(lambda uow: catalogue.update_item(uow, "RICE-5KG", ItemUpdate(near_expiry_days=7)))
    assert runtime.run(lambda uow: alerts.alerts(uow, settings(runtime))).near_expiry == []
    runtime.run(lambda uow: catalogue.update_item(uow, "RICE-5KG", ItemUpdate(near_expiry_days=14)))
    receive(runtime, 10, date(2026, 6, 1), expires_on=TODAY + timedelta(days=90))
    current = runtime.run(lambda uow: alerts.alerts(uow, settings(runtime)))
    assert [(a.lot_id, a.days_left) for a in current.near_expiry] == [(soon, 10)]
    events = emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime)))
    assert [type(e) for e in events] == [LotNearExpiry]
    assert emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime))) == []

    clock(runtime).advance(timedelta(days=10))
    expired = emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime)))
    assert [e.quantity for e in expired if isinstance(e, LotQuarantined)] == [10]
    assert lot_state(runtime, soon) == (0, 0)
    later = runtime.run(lambda uow: alerts.alerts(uow, settings(runtime)))
    assert later.expired == []
