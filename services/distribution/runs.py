"""The field team's work: runs of deliveries for one vehicle in visiting order (nearest
neighbour and 2-opt), their departure, the day's runs, and the relief deliveries a team
holds outside a run, named by the incident's hazard and place."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlmodel import col, select

from services.distribution.deliveries import assign_row, check_goods_ready, depart_row
from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    check_in_indonesia,
    plan_route,
)
from services.distribution.listing import page_of
from services.distribution.models.deliveries import DeliveryRow, IncidentPlaceRow
from services.distribution.models.registry import RecipientRow
from services.distribution.models.runs import RunIn, RunRow, RunStatus
from shared.auth import scoped_office
from shared.contracts.distribution import DeliveryRunDeparted, DeliveryRunPlanned
from shared.contracts.envelope import EventBase
from shared.contracts.intake import IncidentReported
from shared.contracts.union import AnyEvent
from shared.errors import Conflict, NotFound, Unprocessable
from shared.paging import Page
from shared.records import record_for_caller
from shared.unit_of_work import Chain, UnitOfWork

E = TypeVar("E", bound=EventBase)


def create_run(uow: UnitOfWork, body: RunIn, *, office_id: str) -> RunRow:
    """Group deliveries for one vehicle and team: visiting order by nearest neighbour and
    2-opt on geodesic distance, and each delivery assigned to the team."""
    check_in_indonesia(body.start, code="start_outside_indonesia")
    if len(set(body.delivery_ids)) != len(body.delivery_ids):
        raise Unprocessable("a delivery is listed twice", code="duplicate_delivery_in_run")
    rows = {
        row.id: row
        for row in uow.session.exec(
            select(DeliveryRow)
            .where(col(DeliveryRow.id).in_(body.delivery_ids), DeliveryRow.office_id == office_id)
            .with_for_update()
        ).all()
    }
    # Another office's parcel is unknown here: a run would show its recipient's name,
    # village and home, and send this office's team to it.
    missing = [str(i) for i in body.delivery_ids if i not in rows]
    if missing:
        raise NotFound(f"no delivery {', '.join(missing)}", code="delivery_not_found")
    for row in rows.values():
        if row.run_id is not None or row.status is not DeliveryStatus.CREATED:
            raise Conflict(
                f"delivery {row.id} is {row.status.value} and cannot join a new run",
                code="delivery_not_assignable",
            )
        check_goods_ready(row)
    route = plan_route(
        body.start, [(row_id, rows[row_id].destination()) for row_id in body.delivery_ids]
    )
    run = RunRow(
        office_id=office_id,
        team=body.team,
        vehicle=body.vehicle,
        run_date=body.run_date,
        start_lat=body.start.lat,
        start_lon=body.start.lon,
        stops=[str(stop) for stop in route.order],
        legs_km=list(route.legs_km),
        total_km=route.total_km,
        created_at=uow.now(),
    )
    uow.session.add(run)
    now = uow.now()
    by_case: dict[UUID, list[DeliveryRow]] = {}
    # One flush for the whole run rather than one before each outbox row.
    with uow.session.no_autoflush:
        for position, stop in enumerate(route.order, start=1):
            row = rows[UUID(str(stop))]
            row.run_id, row.run_position = run.id, position
            if row.kind is DeliveryKind.INCIDENT:
                # notify follows each incident delivery: keep its per-delivery events.
                assign_row(uow, row, body.team)
            else:
                row.status, row.team, row.assigned_at = DeliveryStatus.ASSIGNED, body.team, now
                by_case.setdefault(row.case_id, []).append(row)
        for case_rows in by_case.values():
            _announce_run(
                uow,
                case_rows,
                DeliveryRunPlanned,
                now,
                run_id=run.id,
                team=body.team,
                vehicle=body.vehicle,
                run_date=body.run_date,
                total_km=route.total_km,
            )
    return run


def _announce_run(
    uow: UnitOfWork, rows: list[DeliveryRow], event_type: type[E], now: datetime, **payload: Any
) -> E:
    """One event for a run's program deliveries of one case, continuing their chain."""
    first = rows[0]
    event = uow.announce(
        event_type,
        after=Chain(correlation_id=first.correlation_id, causation_id=first.last_event_id),
        office_id=first.office_id,
        case_id=first.case_id,
        occurred_at=now,
        case_type=first.case_type,
        delivery_ids=tuple(row.id for row in rows),
        **payload,
    )
    for row in rows:
        row.last_event_id = event.event_id
        uow.session.add(row)
    return event


def get_run(uow: UnitOfWork, run_id: UUID) -> RunRow:
    """The run, or 404."""
    return record_for_caller(uow, RunRow, run_id, what="run", code="run_not_found")


def run_stops(uow: UnitOfWork, run: RunRow) -> list[tuple[DeliveryRow, RecipientRow | None]]:
    """The run's deliveries in visiting order, with their recipients."""
    rows = uow.session.exec(
        select(DeliveryRow)
        .where(DeliveryRow.run_id == run.id)
        .order_by(col(DeliveryRow.run_position))
    ).all()
    ids = [row.recipient_id for row in rows if row.recipient_id is not None]
    people = {
        person.id: person
        for person in uow.session.exec(
            select(RecipientRow).where(col(RecipientRow.id).in_(ids))
        ).all()
    }
    return [(row, people.get(row.recipient_id) if row.recipient_id else None) for row in rows]


def depart_run(uow: UnitOfWork, run_id: UUID) -> RunRow:
    """The vehicle leaves: every assigned delivery of the run is in transit."""
    run = get_run(uow, run_id)
    if run.status is not RunStatus.PLANNED:
        return run
    now = uow.now()
    by_case: dict[UUID, list[DeliveryRow]] = {}
    with uow.session.no_autoflush:
        for row, _ in run_stops(uow, run):
            if row.status is not DeliveryStatus.ASSIGNED:
                continue
            if row.kind is DeliveryKind.INCIDENT:
                depart_row(uow, row)
            else:
                row.status, row.departed_at = DeliveryStatus.IN_TRANSIT, now
                by_case.setdefault(row.case_id, []).append(row)
        for case_rows in by_case.values():
            _announce_run(uow, case_rows, DeliveryRunDeparted, now, run_id=run.id)
    run.status, run.departed_at = RunStatus.UNDERWAY, now
    uow.session.add(run)
    return run


def runs_for(
    uow: UnitOfWork, *, team: str | None, on: date, after: str | None = None, limit: int = 50
) -> Page[RunRow]:
    """A page of the runs of a day (of one team, if given), in the order they were made."""
    query = select(RunRow).where(RunRow.run_date == on)
    if (scope := scoped_office()) is not None:
        query = query.where(RunRow.office_id == scope)
    if team is not None:
        query = query.where(RunRow.team == team)
    key = (col(RunRow.created_at), col(RunRow.id))
    return page_of(uow.session, query, key, types=(datetime, UUID), after=after, limit=limit)


def on_incident_reported(uow: UnitOfWork, event: AnyEvent) -> None:
    """Keep the hazard and the place of a reported incident, so the team's screen can say
    "Banjir · Sukarame, Tenggarong" instead of an id. A repeat changes nothing."""
    if not isinstance(event, IncidentReported):
        return
    if uow.session.get(IncidentPlaceRow, event.case_id) is not None:
        return
    address = event.address
    uow.session.add(
        IncidentPlaceRow(
            case_id=event.case_id,
            office_id=event.office_id,
            hazard=event.hazard.value,
            village=address.village if address else None,
            district=address.district if address else None,
            households_affected=event.households_affected,
            reported_at=event.occurred_at,
        )
    )


OPEN_FOR_THE_TEAM = (DeliveryStatus.ASSIGNED, DeliveryStatus.IN_TRANSIT, DeliveryStatus.ARRIVED)


def incident_work(
    uow: UnitOfWork, *, team: str, settled_since: datetime
) -> list[tuple[DeliveryRow, IncidentPlaceRow | None]]:
    """Relief deliveries assigned to `team` outside a run: the open ones, and those it
    settled since `settled_since` (so the day's handovers stay on its screen), in the
    order they were assigned, each with its incident's hazard and place if known."""
    query = (
        select(DeliveryRow, IncidentPlaceRow)
        .join(
            IncidentPlaceRow,
            col(IncidentPlaceRow.case_id) == col(DeliveryRow.case_id),
            isouter=True,
        )
        .where(
            DeliveryRow.kind == DeliveryKind.INCIDENT,
            DeliveryRow.team == team,
            col(DeliveryRow.run_id).is_(None),
        )
        .where(
            col(DeliveryRow.status).in_(OPEN_FOR_THE_TEAM)
            | (col(DeliveryRow.delivered_at) >= settled_since)
            | (col(DeliveryRow.failed_at) >= settled_since)
        )
        .order_by(col(DeliveryRow.assigned_at), col(DeliveryRow.id))
    )
    scope = scoped_office()
    if scope is not None:
        query = query.where(DeliveryRow.office_id == scope)
    return [(row, place) for row, place in uow.session.exec(query).all()]


def teams_at_work(uow: UnitOfWork, *, on: date) -> list[str]:
    """The teams with a run on `on` or relief open, for the screen's team chooser."""
    scope = scoped_office()
    runs = select(RunRow.team).where(RunRow.run_date == on)
    relief = select(DeliveryRow.team).where(
        col(DeliveryRow.team).is_not(None), col(DeliveryRow.status).in_(OPEN_FOR_THE_TEAM)
    )
    if scope is not None:
        runs = runs.where(RunRow.office_id == scope)
        relief = relief.where(DeliveryRow.office_id == scope)
    names = {*uow.session.exec(runs).all(), *uow.session.exec(relief).all()}
    return sorted(name for name in names if name)
