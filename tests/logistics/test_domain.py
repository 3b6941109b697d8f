"""FIFO allocation as pure functions: oldest first, never expired, never more than free,
nearest warehouse first."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.logistics.domain import (
    LotStock,
    Site,
    adjustment_problem,
    pick_fifo,
    plan_allocation,
    receipt_problem,
)
from shared.events import GeoPoint

TODAY = date(2026, 11, 23)
TENGGARONG = GeoPoint(lat=-0.4100, lon=116.9900)  # incident site
NEAR = Site("GDG-TGR", GeoPoint(lat=-0.4200, lon=116.9800))  # ~1.5 km away
FAR = Site("GDG-SMD", GeoPoint(lat=-0.5000, lon=117.1500))  # Samarinda, ~20 km away


def lot(
    received: date,
    free: int,
    *,
    item: str = "RICE-5KG",
    site: Site = NEAR,
    expires: date | None = None,
) -> LotStock:
    return LotStock(
        lot_id=uuid.uuid4(),
        item_code=item,
        warehouse_code=site.code,
        received_on=received,
        expires_on=expires,
        free=free,
    )


def test_picks_oldest_lot_even_when_listed_last() -> None:
    newer, older = lot(date(2026, 10, 1), 50), lot(date(2026, 3, 1), 50)
    takes = pick_fifo([newer, older], 30, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [(older, 30)]


def test_splits_across_lots_oldest_first_and_never_takes_more_than_free() -> None:
    a, b, c = lot(date(2026, 1, 1), 10), lot(date(2026, 2, 1), 15), lot(date(2026, 3, 1), 100)
    takes = pick_fifo([c, b, a], 30, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [(a, 10), (b, 15), (c, 5)]


def test_skips_expired_lot_and_lot_expiring_on_the_arrival_day() -> None:
    expired = lot(date(2025, 1, 1), 99, expires=TODAY - timedelta(days=1))
    expiring = lot(date(2025, 2, 1), 99, expires=TODAY)
    good = lot(date(2026, 5, 1), 99, expires=TODAY + timedelta(days=1))
    takes = pick_fifo([expired, expiring, good], 10, TODAY)
    assert [t.lot for t in takes] == [good]


def test_same_received_date_is_ordered_by_lot_id_so_the_pick_is_stable() -> None:
    twins = [lot(date(2026, 1, 1), 1) for _ in range(5)]
    first = pick_fifo(twins, 3, TODAY)
    second = pick_fifo(list(reversed(twins)), 3, TODAY)
    assert [t.lot for t in first] == [t.lot for t in second]


def test_nearest_warehouse_is_used_before_a_farther_one_with_older_stock() -> None:
    far_old = lot(date(2025, 1, 1), 100, site=FAR)
    near_new = lot(date(2026, 9, 1), 100, site=NEAR)
    plan = plan_allocation(
        [("RICE-5KG", 40)],
        [FAR, NEAR],
        [far_old, near_new],
        destination=TENGGARONG,
        known_items=["RICE-5KG"],
        must_last_until=TODAY,
    )
    assert [p.site.code for p in plan.picks] == ["GDG-TGR"]
    assert plan.picks[0].takes[0].lot == near_new
    assert plan.shortfalls == ()


def test_tops_up_from_the_next_warehouse_then_reports_what_is_still_missing() -> None:
    near = lot(date(2026, 1, 1), 30, site=NEAR)
    far = lot(date(2026, 1, 1), 50, site=FAR)
    kits = lot(date(2026, 1, 1), 5, item="FAMILY-KIT", site=FAR)
    plan = plan_allocation(
        [("RICE-5KG", 100), ("FAMILY-KIT", 5), ("TENT", 2)],
        [NEAR, FAR],
        [far, near, kits],
        destination=TENGGARONG,
        known_items=["RICE-5KG", "FAMILY-KIT"],
        must_last_until=TODAY,
    )
    assert [(p.site.code, [(t.lot, t.quantity) for t in p.takes]) for p in plan.picks] == [
        ("GDG-TGR", [(near, 30)]),
        ("GDG-SMD", [(far, 50), (kits, 5)]),
    ]
    assert plan.picks[0].distance_km < plan.picks[1].distance_km
    assert [(s.item_code, s.allocated, s.missing, s.reason) for s in plan.shortfalls] == [
        ("RICE-5KG", 80, 20, "insufficient_stock"),
        ("TENT", 0, 2, "unknown_item"),
    ]


def test_reports_shortfall_when_only_expired_stock_is_left() -> None:
    stale = lot(date(2025, 1, 1), 500, expires=TODAY - timedelta(days=3))
    plan = plan_allocation(
        [("RICE-5KG", 10)],
        [NEAR],
        [stale],
        destination=TENGGARONG,
        known_items=["RICE-5KG"],
        must_last_until=TODAY,
    )
    assert plan.picks == ()
    assert plan.shortfalls[0].missing == 10


def test_receipt_and_adjustment_rules() -> None:
    assert receipt_problem(TODAY, None, TODAY) is None
    assert "after today" in (receipt_problem(TODAY + timedelta(days=1), None, TODAY) or "")
    assert "expired" in (receipt_problem(TODAY, TODAY, TODAY) or "")
    assert adjustment_problem(10, 0, -10) is None
    assert "negative" in (adjustment_problem(10, 0, -11) or "")
    assert "reserved" in (adjustment_problem(10, 8, -5) or "")
    assert "changes nothing" in (adjustment_problem(10, 0, 0) or "")


lots_strategy = st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 60), st.one_of(st.none(), st.integers(-30, 60))),
    max_size=12,
)


@given(lots_strategy, st.integers(1, 500))
def test_picked_total_is_min_of_request_and_usable_stock(
    specs: list[tuple[int, int, int | None]], requested: int
) -> None:
    lots = [
        lot(
            TODAY - timedelta(days=age),
            free,
            expires=None if expiry is None else TODAY + timedelta(days=expiry),
        )
        for age, free, expiry in specs
    ]
    usable = [x for x in lots if x.free > 0 and (x.expires_on is None or x.expires_on > TODAY)]
    takes = pick_fifo(lots, requested, TODAY)
    assert sum(t.quantity for t in takes) == min(requested, sum(x.free for x in usable))
    assert all(0 < t.quantity <= t.lot.free for t in takes)
    assert all(t.lot in usable for t in takes)
    # FIFO: every usable lot older than the newest one used was emptied first.
    if takes:
        newest_used = max(t.lot.received_on for t in takes)
        taken = {t.lot.lot_id: t.quantity for t in takes}
        for x in usable:
            if x.received_on < newest_used:
                assert taken.get(x.lot_id) == x.free
