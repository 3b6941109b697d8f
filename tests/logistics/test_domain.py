"""The issue rules as pure functions: oldest first except that a lot expiring before the
oldest lot goes first, never expired or quarantined, never more than free, nearest
warehouse first; and the rules of counts, back-dated postings, receipts and buffers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.logistics.domain import (
    CountLine,
    IssueOrderBroken,
    LotStock,
    Site,
    buffer_for_households,
    check_adjustment,
    check_backdated_decrease,
    check_count,
    check_issue_date,
    check_receipt,
    due_early,
    is_near_expiry,
    issue_key,
    lead_time,
    lots_from,
    pick_lots,
    plan_allocation,
    receipt_decision,
    reorder_suggestion,
    take_in_issue_order,
)
from shared.contracts.envelope import GeoPoint
from shared.errors import Conflict, Unprocessable

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
    quarantined: bool = False,
) -> LotStock:
    return LotStock(
        lot_id=uuid.uuid4(),
        item_code=item,
        warehouse_code=site.code,
        received_on=received,
        expires_on=expires,
        free=free,
        quarantined=quarantined,
    )


def test_picks_oldest_lot_even_when_listed_last() -> None:
    newer, older = lot(date(2026, 10, 1), 50), lot(date(2026, 3, 1), 50)
    takes = pick_lots([newer, older], 30, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [(older, 30)]


def test_splits_across_lots_oldest_first_and_never_takes_more_than_free() -> None:
    a, b, c = lot(date(2026, 1, 1), 10), lot(date(2026, 2, 1), 15), lot(date(2026, 3, 1), 100)
    takes = pick_lots([c, b, a], 30, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [(a, 10), (b, 15), (c, 5)]


def test_skips_expired_lot_and_lot_expiring_on_the_arrival_day() -> None:
    expired = lot(date(2025, 1, 1), 99, expires=TODAY - timedelta(days=1))
    expiring = lot(date(2025, 2, 1), 99, expires=TODAY)
    good = lot(date(2026, 5, 1), 99, expires=TODAY + timedelta(days=1))
    takes = pick_lots([expired, expiring, good], 10, TODAY)
    assert [t.lot for t in takes] == [good]


def test_same_received_date_is_ordered_by_lot_id_so_the_pick_is_stable() -> None:
    twins = [lot(date(2026, 1, 1), 1) for _ in range(5)]
    first = pick_lots(twins, 3, TODAY)
    second = pick_lots(list(reversed(twins)), 3, TODAY)
    assert [t.lot for t in first] == [t.lot for t in second]


def test_nearest_warehouse_is_used_before_a_farther_one_with_older_stock() -> None:
    far_old = lot(date(2025, 1, 1), 100, site=FAR)
    near_new = lot(date(2026, 9, 1), 100, site=NEAR)
    plan = plan_allocation(
        [("RICE-5KG", 40)],
        [FAR, NEAR],
        lots_from([far_old, near_new]),
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
        lots_from([far, near, kits]),
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
        lots_from([stale]),
        destination=TENGGARONG,
        known_items=["RICE-5KG"],
        must_last_until=TODAY,
    )
    assert plan.picks == ()
    assert plan.shortfalls[0].missing == 10


def test_receipt_and_adjustment_rules() -> None:
    check_receipt(TODAY, None, TODAY)
    with pytest.raises(Unprocessable, match="after today") as future:
        check_receipt(TODAY + timedelta(days=1), None, TODAY)
    assert future.value.error_code == "received_in_future"
    with pytest.raises(Unprocessable, match="expired") as expired:
        check_receipt(TODAY, TODAY, TODAY)
    assert expired.value.error_code == "expired_at_receipt"
    check_adjustment(10, 0, -10)
    for delta, reserved, said in ((-11, 0, "negative"), (-5, 8, "reserved"), (0, 0, "nothing")):
        with pytest.raises(Unprocessable, match=said) as refused:
            check_adjustment(10, reserved, delta)
        assert refused.value.error_code == "adjustment_refused"


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
    takes = pick_lots(lots, requested, TODAY)
    assert sum(t.quantity for t in takes) == min(requested, sum(x.free for x in usable))
    assert all(0 < t.quantity <= t.lot.free for t in takes)
    assert all(t.lot in usable for t in takes)
    # The issue rule, applied lot by lot as the issue states it, picks the same lots.
    assert [(t.lot, t.quantity) for t in takes] == rule_as_stated(usable, requested)


def rule_as_stated(lots: list[LotStock], requested: int) -> list[tuple[LotStock, int]]:
    """Reference: oldest received first (001 FIFO), except that a lot inside its 30-day
    near-expiry window on the day goods must last until (TODAY) goes first, the one
    expiring first (ties: older lot, then lot id)."""
    remaining, left, out = requested, list(lots), []
    while remaining and left:
        early = [x for x in left if x.expires_on and x.expires_on <= TODAY + timedelta(days=30)]
        if early:
            chosen = min(early, key=lambda x: (x.expires_on, x.received_on, str(x.lot_id)))
        else:
            chosen = min(left, key=lambda x: (x.received_on, str(x.lot_id)))
        left.remove(chosen)
        quantity = min(chosen.free, remaining)
        out.append((chosen, quantity))
        remaining -= quantity
    return out


@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(1, 60)), max_size=12), st.integers(1, 500)
)
def test_items_without_expiry_leave_strictly_oldest_first(
    specs: list[tuple[int, int]], requested: int
) -> None:
    lots = [lot(TODAY - timedelta(days=age), free) for age, free in specs]
    takes = pick_lots(lots, requested, TODAY)
    if takes:
        newest_used = max(t.lot.received_on for t in takes)
        taken = {t.lot.lot_id: t.quantity for t in takes}
        for x in lots:
            if x.received_on < newest_used:
                assert taken.get(x.lot_id) == x.free


# 001: "Keamanan barang bantuan dengan menggunakan metode FIFO (First In First Out)";
# 000: goods handed over "tidak cacat dan tidak kadaluwarsa".


def test_fifo_an_older_lot_without_expiry_leaves_before_a_newer_dated_lot() -> None:
    undated_oldest = lot(date(2026, 1, 1), 10)
    dated_newer = lot(date(2026, 6, 1), 10, expires=date(2028, 1, 1))
    takes = pick_lots([dated_newer, undated_oldest], 15, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [(undated_oldest, 10), (dated_newer, 5)]


def test_fifo_an_older_dated_lot_far_from_expiry_leaves_before_a_newer_one() -> None:
    oldest = lot(date(2026, 1, 1), 10, expires=date(2027, 6, 1))
    newer_sooner = lot(date(2026, 6, 1), 10, expires=date(2027, 1, 1))
    takes = pick_lots([newer_sooner, oldest], 5, TODAY)
    assert [t.lot for t in takes] == [oldest]


def test_a_lot_that_would_expire_before_its_turn_leaves_before_older_stock() -> None:
    # Within its item's 30-day near-expiry window, it is due before stock received earlier.
    undated_oldest = lot(date(2025, 3, 1), 10)
    older_dated = lot(date(2025, 6, 1), 10, expires=date(2028, 1, 1))
    expiring_soon = lot(date(2026, 9, 1), 10, expires=TODAY + timedelta(days=20))
    takes = pick_lots([undated_oldest, older_dated, expiring_soon], 25, TODAY)
    assert [(t.lot, t.quantity) for t in takes] == [
        (expiring_soon, 10),
        (undated_oldest, 10),
        (older_dated, 5),
    ]


def test_two_lots_near_expiry_leave_the_one_expiring_first() -> None:
    later = lot(date(2026, 1, 1), 10, expires=TODAY + timedelta(days=25))
    sooner = lot(date(2026, 6, 1), 10, expires=TODAY + timedelta(days=10))
    assert [t.lot for t in pick_lots([later, sooner], 5, TODAY)] == [sooner]


def test_an_items_wider_near_expiry_window_moves_its_lot_ahead_sooner() -> None:
    undated_oldest = lot(date(2026, 1, 1), 10)
    dated = lot(date(2026, 6, 1), 10, expires=TODAY + timedelta(days=60))
    assert [t.lot for t in pick_lots([undated_oldest, dated], 5, TODAY)] == [undated_oldest]
    wide = [replace(x, near_expiry_days=90) for x in (undated_oldest, dated)]
    assert [t.lot.lot_id for t in pick_lots(wide, 5, TODAY)] == [dated.lot_id]


def test_a_lot_is_due_early_from_the_day_its_window_opens_before_the_goods_must_last() -> None:
    window_opens = date(2026, 12, 1)  # expires 31 Dec, a 30-day window
    expiring = lot(date(2026, 5, 1), 5, expires=date(2026, 12, 31))
    assert due_early(expiring, window_opens)
    assert not due_early(expiring, window_opens - timedelta(days=1))
    assert not due_early(lot(date(2026, 5, 1), 5), date(2099, 1, 1))


def test_a_newer_lot_expiring_later_does_not_jump_the_queue() -> None:
    oldest = lot(date(2026, 1, 1), 10, expires=date(2027, 1, 1))
    same_day_expiry = lot(date(2026, 6, 1), 10, expires=date(2027, 1, 1))
    takes = pick_lots([same_day_expiry, oldest], 5, TODAY)
    assert [t.lot for t in takes] == [oldest]


def test_a_quarantined_lot_is_never_taken_however_old() -> None:
    damaged = lot(date(2025, 1, 1), 100, quarantined=True)
    good = lot(date(2026, 1, 1), 100)
    assert [t.lot for t in pick_lots([damaged, good], 50, TODAY)] == [good]


def test_streamed_lots_are_read_only_as_far_as_the_need_goes() -> None:
    lots = sorted(
        (lot(date(2026, 1, day), 5) for day in range(1, 29)), key=lambda x: issue_key(x, TODAY)
    )
    read: list[LotStock] = []

    def stream() -> Iterator[LotStock]:
        for x in lots:
            read.append(x)
            yield x

    takes = take_in_issue_order(stream(), 12, TODAY)
    assert [t.quantity for t in takes] == [5, 5, 2]
    assert len(read) == 3


def test_a_stream_out_of_issue_order_is_refused_not_followed() -> None:
    older, newer = lot(date(2026, 1, 1), 1), lot(date(2026, 2, 1), 1)
    with pytest.raises(IssueOrderBroken):
        take_in_issue_order(iter([newer, older]), 2, TODAY)


def test_backdated_decrease_may_not_make_history_negative() -> None:
    received = date(2026, 1, 1)
    # Balance 10 before 1 March, then 2 after an issue of 8 on 5 March.
    check_backdated_decrease(received, date(2026, 3, 1), [10, 2], 2, code="refused")
    with pytest.raises(Unprocessable, match="negative") as negative:
        check_backdated_decrease(received, date(2026, 3, 1), [10, 2], 3, code="correction_refused")
    assert negative.value.error_code == "correction_refused"
    with pytest.raises(Unprocessable, match="received"):
        check_backdated_decrease(received, date(2025, 12, 1), [0], 1, code="refused")


def test_a_lot_being_picked_cannot_be_counted() -> None:
    lot_id = uuid.uuid4()
    check_count([CountLine(lot_id, book=10, counted=9, reserved=0)])
    with pytest.raises(Conflict, match="being picked") as picking:
        check_count([CountLine(lot_id, 10, 9, reserved=3)])
    assert picking.value.error_code == "lot_being_picked"
    twice = [CountLine(lot_id, 10, 9, 0), CountLine(lot_id, 10, 8, 0)]
    with pytest.raises(Unprocessable, match="twice") as listed_twice:
        check_count(twice)
    assert listed_twice.value.error_code == "lot_counted_twice"
    assert CountLine(lot_id, book=10, counted=7, reserved=0).difference == -3


def test_goods_receipt_decisions() -> None:
    ok = receipt_decision(
        item_code="RICE-5KG",
        delivered=10,
        accepted=8,
        reject_reason="damaged",
        still_ordered=10,
        expires_on=None,
        today=TODAY,
    )
    assert (ok.accepted, ok.rejected, ok.reason) == (8, 2, "damaged")
    expired = receipt_decision(
        item_code="RICE-5KG",
        delivered=10,
        accepted=10,
        reject_reason=None,
        still_ordered=10,
        expires_on=TODAY,
        today=TODAY,
    )
    assert (expired.accepted, expired.reason) == (0, "expired")
    with pytest.raises(Unprocessable, match="RICE-5KG: 2 units not accepted: give a reason"):
        receipt_decision(
            item_code="RICE-5KG",
            delivered=10,
            accepted=8,
            reject_reason=None,
            still_ordered=10,
            expires_on=None,
            today=TODAY,
        )
    with pytest.raises(Unprocessable, match="still on order") as too_many:
        receipt_decision(
            item_code="RICE-5KG",
            delivered=12,
            accepted=12,
            reject_reason=None,
            still_ordered=10,
            expires_on=None,
            today=TODAY,
        )
    assert too_many.value.error_code == "accepted_over_order"


def test_an_expired_lot_cannot_be_issued_and_the_dispatch_must_be_replanned() -> None:
    lot_id = uuid.uuid4()
    check_issue_date(lot_id, TODAY + timedelta(days=1), TODAY)
    with pytest.raises(Conflict, match="cancel and re-plan") as expired:
        check_issue_date(lot_id, TODAY, TODAY)
    assert expired.value.error_code == "lot_expired"


def test_buffer_reorder_expiry_and_lead_time_rules() -> None:
    assert buffer_for_households(50, 2) == 300
    with pytest.raises(ValueError, match="positive"):
        buffer_for_households(0, 2)
    assert reorder_suggestion(free=100, on_order=50, minimum=300) == 150
    assert reorder_suggestion(free=400, on_order=0, minimum=300) == 0
    assert is_near_expiry(TODAY + timedelta(days=30), TODAY, 30)
    assert not is_near_expiry(TODAY + timedelta(days=31), TODAY, 30)
    assert not is_near_expiry(TODAY, TODAY, 30)  # expired: quarantine, not a warning
    start = datetime(2026, 1, 1, tzinfo=UTC)
    late = lead_time("sandang_request", start, start + timedelta(days=95), start)
    assert (late.days, late.standard_days, late.overdue) == (95, 90, True)
    assert not lead_time("shortage", start, None, start + timedelta(days=400)).overdue


def test_sandangs_three_months_are_calendar_months_not_90_days() -> None:
    # 000: "Proses Pengadaan Barang sampai dengan Serah Terima Barang membutuhkan waktu
    # 3 (tiga) bulan". From 30 Nov 2026 (WITA), three months end on 28 Feb 2027: 90 days.
    # From 31 May, on 31 Aug: 92 days, so a handover on day 91 is still on time.
    wita = ZoneInfo("Asia/Makassar")
    november = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # 30 Nov 01.00 WITA
    assert lead_time("sandang_request", november, None, november, wita).standard_days == 90
    may = datetime(2026, 5, 31, 2, 0, tzinfo=UTC)
    on_time = lead_time("sandang_request", may, may + timedelta(days=91), may, wita)
    assert (on_time.standard_days, on_time.overdue) == (92, False)
