"""What logistics consumes: reported incidents (their hazard and place, to name them on
the pick list), verified incidents, to allocate their needs from stock, the lists of
affected families (attached to the handover record), and
distribution's goods requests and returned goods."""

from __future__ import annotations

from services.logistics import allocation, program_goods
from services.logistics.settings import LogisticsSettings
from shared.contracts.distribution import DeliveryReturned, GoodsRequested
from shared.contracts.intake import IncidentReported, IncidentVerified
from shared.contracts.intake_disaster_aid import AffectedFamiliesListed
from shared.contracts.union import AnyEvent
from shared.subscriptions import Subscription
from shared.topics import DELIVERIES, INCIDENTS
from shared.unit_of_work import UnitOfWork


def subscriptions(settings: LogisticsSettings) -> list[Subscription]:
    """The topics logistics reads, each bound to its use case."""

    def on_incident(uow: UnitOfWork, event: AnyEvent) -> None:
        allocation.on_incident_event(uow, event, settings)

    def on_delivery(uow: UnitOfWork, event: AnyEvent) -> None:
        program_goods.on_delivery_event(uow, event, settings)

    return [
        Subscription(
            topic=INCIDENTS,
            handle=on_incident,
            acts_on=(IncidentReported, IncidentVerified, AffectedFamiliesListed),
        ),
        Subscription(
            topic=DELIVERIES, handle=on_delivery, acts_on=(GoodsRequested, DeliveryReturned)
        ),
    ]
