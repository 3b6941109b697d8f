"""What distribution consumes: released dispatches on the logistics topic."""

from __future__ import annotations

from services.distribution import handlers
from shared.events import DispatchReleased
from shared.runtime import Subscription
from shared.topics import DISPATCHES

SUBSCRIPTIONS = [
    Subscription(
        topic=DISPATCHES, handle=handlers.on_dispatch_released, acts_on=(DispatchReleased,)
    )
]
