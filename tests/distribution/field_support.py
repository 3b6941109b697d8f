"""Relief deliveries for the field team's screen, made the way distribution makes them:
an incident reported (with its place), its goods released, the delivery assigned, each
through distribution's own use cases on its own database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from services.distribution import deliveries, runs
from services.distribution.models.deliveries import AssignmentIn
from shared.contracts.envelope import Address, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentReported, Reporter
from shared.contracts.logistics import DispatchLine, DispatchReleased
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

TEAM = "Tagana Tenggarong 2"
WAREHOUSE = GeoPoint(lat=-0.4170, lon=116.9930)
SUKARAME = GeoPoint(lat=-0.4210, lon=116.9870)


def incident_events(
    *,
    office: str = "kukar",
    hazard: HazardType = HazardType.FLOOD,
    village: str | None = "Sukarame",
    quantity: int = 40,
    destination: GeoPoint = SUKARAME,
) -> tuple[IncidentReported, DispatchReleased]:
    """An incident as intake reports it (with its place) and its goods as logistics
    releases them (two lots of rice and a lot of tarpaulins)."""
    case_id, now = uuid.uuid4(), datetime.now(UTC)
    report = IncidentReported.first(
        office_id=office,
        case_id=case_id,
        producer="intake",
        occurred_at=now,
        hazard=hazard,
        happened_at=now - timedelta(hours=2),
        reporter=Reporter(name="Kepala Desa", role="kepala_desa"),
        location=destination,
        address=Address(village=village, district="Tenggarong") if village else None,
        households_affected=30,
        people_affected=110,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=quantity),),
    )
    release = DispatchReleased.first(
        office_id=office,
        case_id=case_id,
        producer="logistics",
        occurred_at=now,
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=WAREHOUSE,
        destination=destination,
        lines=tuple(
            DispatchLine(
                item_code=item,
                lot_id=uuid.uuid4(),
                quantity=amount,
                received_on=date(2026, 1, 5),
                expires_on=None,
            )
            for item, amount in (("RICE-5KG", quantity - 10), ("RICE-5KG", 10), ("TARP-4X6", 5))
        ),
        released_by="Kepala Gudang",
    )
    return report, release


def relief(
    runtime: ServiceRuntime,
    *,
    office: str = "kukar",
    team: str = TEAM,
    hazard: HazardType = HazardType.FLOOD,
    village: str | None = "Sukarame",
    quantity: int = 40,
    destination: GeoPoint = SUKARAME,
) -> uuid.UUID:
    """An incident's relief delivery assigned to `team`, made through distribution's own
    use cases on its own database."""
    report, release = incident_events(
        office=office, hazard=hazard, village=village, quantity=quantity, destination=destination
    )

    def work(uow: UnitOfWork) -> uuid.UUID:
        runs.on_incident_reported(uow, report)
        deliveries.on_dispatch_released(uow, release)
        uow.session.flush()
        [delivery] = deliveries.list_deliveries(
            uow, status=None, case_id=report.case_id, limit=2
        ).items
        deliveries.assign(uow, delivery.id, AssignmentIn(team=team))
        return delivery.id

    return runtime.run(work)
