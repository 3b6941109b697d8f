"""A subscription hands its use case only the event types it acts on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.contracts.intake import IncidentVerified
from shared.contracts.union import AnyEvent
from shared.subscriptions import Subscription
from shared.topics import INCIDENTS
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import verified
from tests.notify.test_api import reported


def _nothing(_uow: UnitOfWork, _event: AnyEvent) -> None:
    """A use case for the subscriptions under test."""


def test_only_the_types_acted_on_reach_the_use_case() -> None:
    report = reported(uuid.uuid4(), office_id="kukar", at=datetime.now(UTC))
    verification = verified(("RICE-5KG", 1))
    allocation = Subscription(topic=INCIDENTS, handle=_nothing, acts_on=(IncidentVerified,))
    assert (allocation.wants(report), allocation.wants(verification)) == (False, True)
    everything = Subscription(topic=INCIDENTS, handle=_nothing)
    assert (everything.wants(report), everything.wants(verification)) == (True, True)
