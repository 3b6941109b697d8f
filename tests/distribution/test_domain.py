"""The delivery's steps and the arrival check, as pure functions: no database, no broker."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.distribution.domain import DeliveryStatus, Move, check_arrival, check_transition
from shared.contracts.envelope import GeoPoint
from shared.errors import Conflict, Unprocessable
from shared.geo import distance_km

S = DeliveryStatus
# Written out here rather than read from the module, so a change to the table fails a test.
ALLOWED = {
    (S.CREATED, S.ASSIGNED),
    (S.ASSIGNED, S.IN_TRANSIT),
    (S.IN_TRANSIT, S.ARRIVED),
    (S.ARRIVED, S.DELIVERED),
    (S.CREATED, S.FAILED),
    (S.ASSIGNED, S.FAILED),
    (S.IN_TRANSIT, S.FAILED),
    (S.ARRIVED, S.FAILED),
}
PAIRS = list(itertools.product(DeliveryStatus, DeliveryStatus))
REFUSED = [(a, b) for a, b in PAIRS if (a, b) not in ALLOWED and a != b]

# The posko of a flood in Tenggarong, Kutai Kartanegara.
DESTINATION = GeoPoint(lat=-0.4230, lon=116.9860)


@pytest.mark.parametrize(("current", "wanted"), sorted(ALLOWED))
def test_allows_each_step_forward_and_failure_before_handover(
    current: DeliveryStatus, wanted: DeliveryStatus
) -> None:
    assert check_transition(current, wanted) is Move.APPLY


@pytest.mark.parametrize(("current", "wanted"), REFUSED)
def test_refuses_every_other_move_naming_both_states(
    current: DeliveryStatus, wanted: DeliveryStatus
) -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(current, wanted)
    assert refused.value.error_code == "invalid_delivery_transition"
    assert f"is {current.value}" in refused.value.detail
    assert f"become {wanted.value}" in refused.value.detail


@pytest.mark.parametrize("status", list(DeliveryStatus))
def test_repeating_the_step_that_led_here_is_already_there(status: DeliveryStatus) -> None:
    assert check_transition(status, status) is Move.ALREADY_THERE


def test_the_table_covers_every_pair_exactly_once() -> None:
    assert len(ALLOWED) + len(REFUSED) + len(DeliveryStatus) == len(PAIRS) == 36


def test_skipping_a_step_says_what_may_come_next() -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(S.CREATED, S.ARRIVED)
    assert "assigned or failed" in refused.value.detail


def test_failing_after_handover_is_refused_as_final() -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(S.DELIVERED, S.FAILED)
    assert "final" in refused.value.detail


@given(st.lists(st.sampled_from(list(DeliveryStatus)), max_size=12))
def test_a_settled_delivery_never_moves(requests: list[DeliveryStatus]) -> None:
    status = S.CREATED
    for wanted in requests:
        settled = status in (S.DELIVERED, S.FAILED)
        try:
            move = check_transition(status, wanted)
        except Conflict:
            continue
        assert not settled or move is Move.ALREADY_THERE
        status = wanted


def test_accepts_arrival_within_tolerance_and_reports_the_distance() -> None:
    nearby = GeoPoint(lat=-0.4275, lon=116.9860)  # ~500 m south
    distance_m = check_arrival(nearby, DESTINATION, tolerance_m=2000)
    assert distance_m == pytest.approx(497.6, abs=1)


def test_accepts_arrival_exactly_at_the_tolerance() -> None:
    nearby = GeoPoint(lat=-0.4275, lon=116.9860)
    edge_m = distance_km(nearby, DESTINATION) * 1000
    assert check_arrival(nearby, DESTINATION, tolerance_m=edge_m) == edge_m


def test_accepts_arrival_on_the_spot() -> None:
    assert check_arrival(DESTINATION, DESTINATION, tolerance_m=1) == 0


def test_refuses_arrival_beyond_tolerance_with_distance_and_tolerance() -> None:
    next_village = GeoPoint(lat=-0.4680, lon=116.9860)  # ~5 km south
    with pytest.raises(Unprocessable) as refused:
        check_arrival(next_village, DESTINATION, tolerance_m=2000)
    assert refused.value.error_code == "arrival_too_far"
    assert "4976 m" in refused.value.detail
    assert "2000 m" in refused.value.detail


def test_a_tighter_tolerance_refuses_what_the_default_accepts() -> None:
    nearby = GeoPoint(lat=-0.4275, lon=116.9860)
    with pytest.raises(Unprocessable) as refused:
        check_arrival(nearby, DESTINATION, tolerance_m=200)
    assert refused.value.error_code == "arrival_too_far"


@pytest.mark.parametrize(
    "position",
    [
        GeoPoint(lat=-0.4230, lon=-116.9860),  # minus sign on the wrong coordinate
        GeoPoint(lat=48.8566, lon=2.3522),  # Paris
    ],
)
def test_refuses_a_position_outside_indonesia(position: GeoPoint) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_arrival(position, DESTINATION, tolerance_m=20_000_000)
    assert refused.value.error_code == "position_outside_indonesia"
