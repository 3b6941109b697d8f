"""distribution's rules, free of I/O: the steps of a delivery and when the team has
really arrived."""

from __future__ import annotations

import enum

from shared.events import GeoPoint
from shared.geo import distance_km, outside_indonesia_detail, within_indonesia
from shared.http import Conflict, Unprocessable


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands, from the released dispatch to the handover."""

    CREATED = "created"
    ASSIGNED = "assigned"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    FAILED = "failed"


# Each step forward, and failure from anywhere before the handover. A handed-over
# delivery is settled, and a failed one stays failed: goods are re-sent as a new
# dispatch, never by reviving an old delivery.
TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.CREATED: frozenset({DeliveryStatus.ASSIGNED, DeliveryStatus.FAILED}),
    DeliveryStatus.ASSIGNED: frozenset({DeliveryStatus.IN_TRANSIT, DeliveryStatus.FAILED}),
    DeliveryStatus.IN_TRANSIT: frozenset({DeliveryStatus.ARRIVED, DeliveryStatus.FAILED}),
    DeliveryStatus.ARRIVED: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


class Move(enum.Enum):
    """What a requested transition amounts to."""

    APPLY = "apply"
    # The step that produced the current state, sent again (a phone that lost the
    # response retries): answer with the delivery as it is and announce nothing.
    ALREADY_THERE = "already_there"


def check_transition(current: DeliveryStatus, wanted: DeliveryStatus) -> Move:
    """Whether a delivery in `current` may become `wanted`; a refusal is a 409."""
    if current == wanted:
        return Move.ALREADY_THERE
    allowed = TRANSITIONS[current]
    if wanted in allowed:
        return Move.APPLY
    then = f"next it can be {' or '.join(sorted(allowed))}" if allowed else "that is final"
    raise Conflict(
        f"delivery is {current.value} and cannot become {wanted.value}; {then}",
        code="invalid_delivery_transition",
    )


def check_arrival(position: GeoPoint, destination: GeoPoint, tolerance_m: float) -> float:
    """The distance in metres from `position` to `destination`, if it counts as arrived.

    A position outside Indonesia is a typo, not a place; one farther than the tolerance
    means the team is not there yet (or the phone's fix is stale). Both are a 422.
    """
    if not within_indonesia(position):
        raise Unprocessable(outside_indonesia_detail(position), code="position_outside_indonesia")
    distance_m = distance_km(position, destination) * 1000
    if distance_m > tolerance_m:
        raise Unprocessable(
            f"position is {distance_m:.0f} m from the destination; arrival counts within "
            f"{tolerance_m:.0f} m",
            code="arrival_too_far",
        )
    return distance_m
