"""What distribution consumes: released dispatches on the logistics topic, and reported
incidents on intake's (only to name them on the field team's screen)."""

from __future__ import annotations

from services.distribution import deliveries, runs
from shared.contracts.intake import IncidentReported
from shared.contracts.logistics import DispatchReleased
from shared.subscriptions import Subscription
from shared.topics import DISPATCHES, INCIDENTS

SUBSCRIPTIONS = [
    Subscription(
        topic=DISPATCHES, handle=deliveries.on_dispatch_released, acts_on=(DispatchReleased,)
    ),
    Subscription(topic=INCIDENTS, handle=runs.on_incident_reported, acts_on=(IncidentReported,)),
]
