"""distribution's pure program rules: the 6-round plan, route order, lot sharing, the
round tally, failure follow-ups, masking and proof images. No database, no broker."""

from __future__ import annotations

import io
import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    LotShare,
    Move,
    Resolution,
    add_months,
    check_image,
    check_proof_position,
    check_reattempt,
    check_return,
    check_transition,
    nearest_neighbour,
    needs_review,
    parcels_covered,
    path_km,
    plan_rounds,
    plan_route,
    share_lots,
    tally,
    two_opt,
)
from shared.contracts.envelope import GeoPoint
from shared.errors import Conflict, Unprocessable
from shared.privacy import mask_number, mask_phone

HUB = GeoPoint(lat=-0.4235, lon=116.9860)


def test_plan_has_six_back_to_back_rounds_over_twelve_months() -> None:
    rounds = plan_rounds(date(2026, 1, 15))
    assert [r.number for r in rounds] == [1, 2, 3, 4, 5, 6]
    assert [r.period_start for r in rounds] == [
        date(2026, 1, 15),
        date(2026, 3, 15),
        date(2026, 5, 15),
        date(2026, 7, 15),
        date(2026, 9, 15),
        date(2026, 11, 15),
    ]
    assert rounds[0].period_end == date(2026, 3, 14)
    assert rounds[-1].period_end == date(2027, 1, 14)
    for earlier, later in itertools.pairwise(rounds):
        assert (later.period_start - earlier.period_end).days == 1


def test_plan_starting_at_a_month_end_clips_to_shorter_months() -> None:
    assert add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    rounds = plan_rounds(date(2027, 12, 31))
    assert rounds[1].period_start == date(2028, 2, 29)
    assert rounds[0].period_end == date(2028, 2, 28)


def test_route_visits_a_line_of_stops_in_order_from_the_start() -> None:
    stops = [
        (name, GeoPoint(lat=-0.42, lon=116.99 + 0.01 * k))
        for k, name in [(3, "c"), (1, "a"), (4, "d"), (2, "b")]
    ]
    route = plan_route(GeoPoint(lat=-0.42, lon=116.99), stops)
    assert route.order == ("a", "b", "c", "d")
    assert route.total_km == pytest.approx(sum(route.legs_km))
    assert route.total_km == pytest.approx(4 * 1.106, rel=0.01)


def test_two_opt_untangles_a_crossing_left_by_nearest_neighbour() -> None:
    start = GeoPoint(lat=0.0, lon=117.0)
    points = [
        GeoPoint(lat=0.0, lon=117.01),
        GeoPoint(lat=0.01, lon=117.02),
        GeoPoint(lat=0.0, lon=117.02),
        GeoPoint(lat=0.01, lon=117.01),
    ]
    crossing = [0, 1, 2, 3]
    untangled = two_opt(start, points, crossing)
    assert path_km(start, [points[i] for i in untangled]) < path_km(
        start, [points[i] for i in crossing]
    )


coordinates = st.tuples(
    st.floats(min_value=-0.6, max_value=-0.3), st.floats(min_value=116.8, max_value=117.2)
)


@settings(max_examples=40, deadline=None)
@given(st.lists(coordinates, min_size=1, max_size=9, unique=True))
def test_two_opt_never_lengthens_the_nearest_neighbour_route(
    raw: list[tuple[float, float]],
) -> None:
    stops = [(i, GeoPoint(lat=lat, lon=lon)) for i, (lat, lon) in enumerate(raw)]
    points = [p for _, p in stops]
    greedy = nearest_neighbour(HUB, stops)
    improved = two_opt(HUB, points, greedy)
    assert sorted(improved) == list(range(len(stops)))
    assert (
        path_km(HUB, [points[i] for i in improved])
        <= path_km(HUB, [points[i] for i in greedy]) + 1e-9
    )


def test_lots_are_shared_in_release_order_and_uncovered_parcels_say_so() -> None:
    shares = share_lots(
        [("RICE-5KG", "lot-a", 3), ("RICE-5KG", "lot-b", 2), ("OIL-1L", "lot-c", 1)],
        [("p1", "RICE-5KG", 2), ("p2", "RICE-5KG", 2), ("p3", "RICE-5KG", 2), ("p1", "OIL-1L", 2)],
    )
    assert shares["p1"] == [
        LotShare("RICE-5KG", "lot-a", 2),
        LotShare("OIL-1L", "lot-c", 1),
        LotShare("OIL-1L", None, 1),
    ]
    assert shares["p2"] == [LotShare("RICE-5KG", "lot-a", 1), LotShare("RICE-5KG", "lot-b", 1)]
    assert shares["p3"] == [LotShare("RICE-5KG", "lot-b", 1), LotShare("RICE-5KG", None, 1)]


def test_tally_counts_a_reattempted_failure_through_its_reattempt() -> None:
    counted = tally(
        [
            (DeliveryStatus.DELIVERED, None),
            (DeliveryStatus.FAILED, Resolution.REATTEMPTED),
            (DeliveryStatus.DELIVERED, None),
            (DeliveryStatus.FAILED, Resolution.RETURNED),
            (DeliveryStatus.IN_TRANSIT, None),
        ]
    )
    assert (counted.delivered, counted.returned, counted.open) == (2, 1, 1)
    assert not counted.settled
    assert tally([(DeliveryStatus.FAILED, Resolution.RETURNED)]).settled


def test_moved_and_deceased_flag_for_review_and_cannot_be_reattempted() -> None:
    assert needs_review(FailureReason.DECEASED) and needs_review(FailureReason.MOVED)
    assert not needs_review(FailureReason.NOT_AT_HOME)
    for reason in (FailureReason.MOVED, FailureReason.DECEASED):
        with pytest.raises(Conflict) as refused:
            check_reattempt(reason, None)
        assert refused.value.error_code == "reattempt_pointless"
    assert check_reattempt(FailureReason.NOT_AT_HOME, None) is Move.APPLY
    assert check_reattempt(FailureReason.NOT_AT_HOME, Resolution.REATTEMPTED) is Move.ALREADY_THERE


def test_returned_goods_cannot_go_out_again_and_reattempted_cannot_be_returned() -> None:
    with pytest.raises(Conflict) as returned:
        check_reattempt(FailureReason.NOT_AT_HOME, Resolution.RETURNED)
    assert returned.value.error_code == "already_returned"
    with pytest.raises(Conflict) as reattempted:
        check_return(Resolution.REATTEMPTED)
    assert reattempted.value.error_code == "already_reattempted"
    assert check_return(Resolution.RETURNED) is Move.ALREADY_THERE


def test_a_program_parcel_may_be_confirmed_straight_from_in_transit_an_incident_not() -> None:
    assert (
        check_transition(
            DeliveryStatus.IN_TRANSIT, DeliveryStatus.DELIVERED, DeliveryKind.PERMAKANAN
        )
        is Move.APPLY
    )
    with pytest.raises(Conflict):
        check_transition(DeliveryStatus.IN_TRANSIT, DeliveryStatus.DELIVERED, DeliveryKind.INCIDENT)
    with pytest.raises(Conflict):
        check_transition(DeliveryStatus.FAILED, DeliveryStatus.DELIVERED, DeliveryKind.PERMAKANAN)


def test_proof_far_from_the_address_is_kept_but_flagged() -> None:
    home = GeoPoint(lat=-0.4300, lon=116.9800)
    near = check_proof_position(GeoPoint(lat=-0.4301, lon=116.9800), home, 300)
    far = check_proof_position(GeoPoint(lat=-0.4400, lon=116.9800), home, 300)
    assert not near.far_from_address and near.distance_m == pytest.approx(11, abs=1)
    assert far.far_from_address and far.distance_m == pytest.approx(1106, abs=5)
    with pytest.raises(Unprocessable) as outside:
        check_proof_position(GeoPoint(lat=0.43, lon=16.98), home, 300)
    assert outside.value.error_code == "position_outside_indonesia"


def test_masks_keep_only_the_ends() -> None:
    assert mask_number("6402065501900003") == "64020655******03"
    assert mask_phone("081234567890") == "0812******90"
    assert mask_number("123") == "***"


def _image(fmt: str, size: tuple[int, int] = (30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_real_png_and_jpeg_are_accepted() -> None:
    assert check_image(_image("PNG"), max_bytes=100_000).content_type == "image/png"
    assert check_image(_image("JPEG"), max_bytes=100_000).format == "JPEG"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "image_empty"),
        (b"%PDF-1.4 not a photo at all", "not_an_image"),
        (_image("PNG")[:60], "not_an_image"),
        (_image("GIF"), "not_an_image"),
        (_image("PNG", (600, 600)) + b"\0" * 50_000, "image_too_large"),
    ],
    ids=["empty", "pdf", "truncated-png", "gif", "too-large"],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_image(data, max_bytes=20_000)
    assert refused.value.error_code == code


def test_a_partial_release_covers_only_whole_parcels() -> None:
    parcel = [("RICE-5KG", 2), ("OIL-1L", 1)]
    assert parcels_covered([("RICE-5KG", 7), ("OIL-1L", 5)], parcel) == 3
    assert parcels_covered([("RICE-5KG", 3), ("RICE-5KG", 3), ("OIL-1L", 9)], parcel) == 3
    assert parcels_covered([("RICE-5KG", 100)], parcel) == 0
