"""Tagana's rapid assessment of an incident (issue 15 item 10).

Balangan's standard starts the emergency response with it (004: "a. Pengkajian secara
cepat dan tepat terhadap lokasi, kerusakan dan sumberdaya"; "e. Perlindungan terhadap
kelompok rentan"), Lubuklinggau's names it as a requirement of the service (001:
"Pendataan Tim Tagana"), OKU Selatan's has Tagana survey the site before aid is proposed
(003: "ditindaklanjuti dengan survei lokasi dan evakuasi oleh petugas Tagana"). A team
(role `field_team`) or a coordinator records what it found: damage, the people affected
by vulnerable group, the displaced and their shelters, what is on site, the needs.

An incident may have several; each is kept, and the latest (by when it was assessed on
site) is the current picture: the coordinator's verification takes its needs when the
request names none (`verify_with_latest_assessment`, the one place of that rule).
Announced as `RapidAssessmentRecorded`. The field team's phone page is
`/lapor/kajian/{incident_id}`; the coordinator's report page shows it and takes a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field as SQLField
from sqlmodel import col, select

from services.intake import case_records, handlers, inbox
from services.intake.dependencies import InCallersOffice
from services.intake.domain import (
    CLOCK_DRIFT_ALLOWANCE,
    IncidentStatus,
    ensure_open_for_follow_up,
)
from services.intake.models import NEED_LINES, IncidentRow, IntakeTable, VerificationIn
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role, office_scope
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import LongText, NeedLine, ShortText
from shared.contracts.intake import (
    AffectedPeople,
    HouseDamage,
    RapidAssessmentRecorded,
    Shelter,
    count_problems,
)
from shared.csrf import csrf_token
from shared.errors import NotFound, Unprocessable
from shared.http import ERROR_RESPONSES, ApiModel
from shared.pages import Pages
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

# --- table ------------------------------------------------------------------------------


class AssessmentRow(IntakeTable, table=True):
    """One rapid assessment of an incident, as the team recorded it."""

    __tablename__ = "incident_assessment"
    # A phone resending after a lost answer sends the same id: one row, one event.
    __table_args__ = (UniqueConstraint("incident_id", "client_assessment_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    client_assessment_id: UUID | None = SQLField(default=None)
    team: str = SQLField(max_length=200)
    assessed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    houses_heavy: int
    houses_moderate: int
    houses_light: int
    public_facilities: int
    public_facilities_note: str = SQLField(max_length=2000)
    people: int
    households: int
    elderly: int
    disabled: int
    under_five: int
    pregnant_or_breastfeeding: int
    displaced: int
    shelters: list[Shelter] = SQLField(sa_column=Column(TypedJSON(list[Shelter]), nullable=False))
    resources_on_site: str = SQLField(max_length=2000)
    site_conditions: str = SQLField(max_length=2000)
    needs: list[NeedLine] = SQLField(sa_column=Column(NEED_LINES, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def damage(self) -> HouseDamage:
        """The damage columns as the contract."""
        return HouseDamage.model_validate(self.model_dump(include=set(HouseDamage.model_fields)))

    @property
    def affected(self) -> AffectedPeople:
        """The head counts as the contract."""
        return AffectedPeople.model_validate(
            self.model_dump(include=set(AffectedPeople.model_fields))
        )


# --- API shapes -------------------------------------------------------------------------


class RapidAssessmentIn(ApiModel):
    """What the team found on site. A count left out is 0."""

    client_assessment_id: UUID | None = Field(
        default=None,
        description="Made on the phone; the same assessment resent returns the first (200).",
    )
    team: ShortText = Field(description="The team, e.g. 'Tagana Kecamatan Tenggarong'.")
    assessed_at: AwareDatetime | None = Field(
        default=None,
        description="When it was assessed on site; omitted: now. Not in the future, not "
        "before the incident happened.",
    )
    damage: HouseDamage = Field(default_factory=HouseDamage)
    affected: AffectedPeople = Field(
        default_factory=AffectedPeople,
        description="Families (KK) and each group are part of the people: none exceeds it.",
    )
    shelters: list[Shelter] = Field(default_factory=list, max_length=50)
    resources_on_site: LongText = Field(
        default="", description="What is already there: posko, field kitchen, boats, clinic."
    )
    site_conditions: LongText = Field(
        default="", description="The location: access, water level, what still threatens."
    )
    needs: list[NeedLine] = Field(
        default_factory=list,
        max_length=100,
        description="The needs found; any well-formed item code (logistics judges the item), "
        "quantities above 0.",
    )


class RapidAssessmentOut(BaseModel):
    """A recorded rapid assessment."""

    id: UUID
    incident_id: UUID
    team: str
    assessed_at: datetime
    damage: HouseDamage
    affected: AffectedPeople
    shelters: list[Shelter]
    resources_on_site: str
    site_conditions: str
    needs: list[NeedLine]
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, row: AssessmentRow) -> RapidAssessmentOut:
        """The API view of an assessment."""
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            team=row.team,
            assessed_at=row.assessed_at,
            damage=row.damage,
            affected=row.affected,
            shelters=list(row.shelters),
            resources_on_site=row.resources_on_site,
            site_conditions=row.site_conditions,
            needs=list(row.needs),
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
        )


# --- use cases --------------------------------------------------------------------------


def record_assessment(
    uow: UnitOfWork, incident_id: UUID, assessment: RapidAssessmentIn, *, recorded_by: str
) -> tuple[AssessmentRow, bool]:
    """Keep a rapid assessment of an incident that is not rejected and announce it; the
    same `client_assessment_id` again returns the first (False)."""
    incident = handlers.get_incident(uow, incident_id, for_update=True)
    if assessment.client_assessment_id is not None:
        resent = uow.session.exec(
            select(AssessmentRow).where(
                AssessmentRow.incident_id == incident.id,
                AssessmentRow.client_assessment_id == assessment.client_assessment_id,
            )
        ).first()
        if resent is not None:
            return resent, False
    if incident.status is IncidentStatus.REJECTED:
        # A rejected report names no disaster to assess (409 incident_closed).
        ensure_open_for_follow_up(incident.status)
    for problem in count_problems(assessment.affected):
        raise Unprocessable(f"{problem.message} (affected.{problem.field})", code=problem.code)
    now = uow.now()
    assessed_at = assessment.assessed_at or now
    if assessed_at > now + CLOCK_DRIFT_ALLOWANCE:
        raise Unprocessable(
            f"assessed_at {assessed_at.isoformat()} is in the future", code="assessed_in_future"
        )
    if assessed_at < incident.happened_at:
        raise Unprocessable(
            f"assessed_at {assessed_at.isoformat()} is before the incident happened "
            f"({incident.happened_at.isoformat()})",
            code="assessed_before_incident",
        )
    row = AssessmentRow(
        id=uuid4(),
        incident_id=incident.id,
        client_assessment_id=assessment.client_assessment_id,
        team=assessment.team,
        assessed_at=assessed_at,
        **assessment.damage.model_dump(),
        **assessment.affected.model_dump(),
        shelters=list(assessment.shelters),
        resources_on_site=assessment.resources_on_site,
        site_conditions=assessment.site_conditions,
        needs=list(assessment.needs),
        recorded_by=recorded_by,
        recorded_at=now,
    )
    uow.session.add(row)
    uow.announce(
        RapidAssessmentRecorded,
        office_id=incident.office_id,
        case_id=incident.id,
        assessment_id=row.id,
        team=row.team,
        assessed_at=assessed_at,
        damage=assessment.damage,
        affected=assessment.affected,
        shelters=tuple(assessment.shelters),
        resources_on_site=row.resources_on_site,
        site_conditions=row.site_conditions,
        needs=tuple(assessment.needs),
        recorded_by=recorded_by,
    )
    return row, True


def assessments_of(uow: UnitOfWork, incident_id: UUID) -> Sequence[AssessmentRow]:
    """The incident's assessments in the order they were made on site, the latest last
    (404 for an unknown or another office's incident)."""
    incident = handlers.get_incident(uow, incident_id)
    query = (
        select(AssessmentRow)
        .where(AssessmentRow.incident_id == incident.id)
        # Two made at the same minute: the one recorded later is the newer word.
        .order_by(col(AssessmentRow.assessed_at), col(AssessmentRow.recorded_at))
    )
    return uow.session.exec(query).all()


def latest_assessment(uow: UnitOfWork, incident_id: UUID) -> AssessmentRow | None:
    """The current picture of the incident: its latest assessment, if any."""
    found = assessments_of(uow, incident_id)
    return found[-1] if found else None


def verify_with_latest_assessment(
    uow: UnitOfWork,
    incident_id: UUID,
    decision: VerificationIn,
    required_offices: frozenset[str],
) -> IncidentRow:
    """The coordinator's validation. Needs given in the request are what is sent; when
    it names none, the latest rapid assessment's needs are (none there either: 422
    `assessed_needs_missing`, from `handlers.verify_incident`)."""
    if decision.assessed_needs is None:
        latest = latest_assessment(uow, incident_id)
        if latest is not None and latest.needs:
            decision = decision.model_copy(update={"assessed_needs": list(latest.needs)})
    return case_records.verify_after_disposition(uow, incident_id, decision, required_offices)


# --- HTTP -------------------------------------------------------------------------------

assessment_router = APIRouter(responses=ERROR_RESPONSES)
FIELD_PAGES = "/lapor/kajian"
SCRIPT = Path(__file__).parent / "static" / "assessment.js"


@assessment_router.post(
    "/incidents/{incident_id}/assessments",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["case records"],
    summary="Record a rapid assessment (Tagana)",
)
def add_assessment(
    incident_id: UUID,
    assessment: RapidAssessmentIn,
    runtime: RuntimeDep,
    actor: ActingUserName,
    response: Response,
) -> RapidAssessmentOut:
    """Damage, people affected by vulnerable group, the displaced and their shelters,
    resources on site and the needs found (004: "Pengkajian secara cepat dan tepat
    terhadap lokasi, kerusakan dan sumberdaya"). Refused: more families than people (422
    `households_exceed_people`), a group larger than the people affected (422
    `group_exceeds_people`), a time in the future or before the incident, a rejected
    report (409 `incident_closed`). Announced as `RapidAssessmentRecorded`; the same
    `client_assessment_id` again returns the first (200)."""

    def keep(uow: UnitOfWork) -> tuple[AssessmentRow, bool]:
        return record_assessment(uow, incident_id, assessment, recorded_by=actor)

    try:
        row, created = runtime.run(keep)
    except IntegrityError:
        # The same assessment sent twice at once: the second finds the first's row.
        row, created = runtime.run(keep)
    if not created:
        response.status_code = status.HTTP_200_OK
    return RapidAssessmentOut.of(row)


@assessment_router.get(
    "/incidents/{incident_id}/assessments",
    dependencies=InCallersOffice,
    tags=["case records"],
    summary="An incident's rapid assessments, the latest last",
)
def list_assessments(incident_id: UUID, runtime: RuntimeDep) -> list[RapidAssessmentOut]:
    """Every assessment of the incident, in the order they were made on site; the last
    one is the current picture."""
    rows = runtime.run(lambda uow: assessments_of(uow, incident_id))
    return [RapidAssessmentOut.of(row) for row in rows]


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


# Incidents the field team may still assess: not rejected, newest first.
OPEN_FOR_ASSESSMENT = (IncidentStatus.REPORTED, IncidentStatus.VERIFIED)


@assessment_router.get(FIELD_PAGES, include_in_schema=False)
def field_list_page(
    request: Request,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> HTMLResponse:
    """The field team's list of their office's open incidents, to pick one to assess."""

    scope = office_scope(request)

    def open_incidents(uow: UnitOfWork) -> list[tuple[IncidentRow, AssessmentRow | None]]:
        query = (
            select(IncidentRow)
            .where(col(IncidentRow.status).in_(OPEN_FOR_ASSESSMENT))
            .order_by(col(IncidentRow.reported_at).desc())
            .limit(limit)
        )
        if scope is not None:
            query = query.where(IncidentRow.office_id == scope)
        incidents = uow.session.exec(query).all()
        latest: dict[UUID, AssessmentRow] = {}
        made = select(AssessmentRow).where(
            col(AssessmentRow.incident_id).in_([row.id for row in incidents])
        )
        # In the order they were made: the last one of each incident stays in the dict.
        for row in uow.session.exec(
            made.order_by(col(AssessmentRow.assessed_at), col(AssessmentRow.recorded_at))
        ):
            latest[row.incident_id] = row
        return [(row, latest.get(row.id)) for row in incidents]

    found = runtime.run(open_incidents)
    return _pages(request).render(
        request, "assessments.html", title="", incidents=found, current=FIELD_PAGES
    )


@assessment_router.get(FIELD_PAGES + "/{incident_id}", include_in_schema=False)
def field_assessment_page(incident_id: UUID, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """One incident on the field team's phone: the latest assessment and the form."""

    def facts(uow: UnitOfWork) -> tuple[IncidentRow, Sequence[AssessmentRow]]:
        return handlers.get_incident(uow, incident_id), assessments_of(uow, incident_id)

    try:
        incident, assessments = runtime.run(facts)
    except NotFound:
        return _pages(request).render(
            request, "missing.html", title="", status_code=404, current=FIELD_PAGES
        )
    return _pages(request).render(
        request,
        "assessment.html",
        title="",
        incident=incident,
        assessments=assessments,
        csrf=csrf_token(request),
        items=inbox.COMMON_ITEMS,
        current=FIELD_PAGES,
    )


@assessment_router.get("/assessment.js", include_in_schema=False)
def assessment_script() -> FileResponse:
    """The assessment form's script (the CSP allows no inline script)."""
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


FIELD = (Role.FIELD_TEAM, Role.COORDINATOR)
ASSESSMENT_ACCESS: Policy = {
    # Tagana teams assess on site; coordinators enter a paper form or a call too.
    "POST /incidents/{incident_id}/assessments": Access.of(*FIELD),
    "GET /incidents/{incident_id}/assessments": Access.of(*FIELD),
    f"GET {FIELD_PAGES}": Access.of(*FIELD),
    f"GET {FIELD_PAGES}/{{incident_id}}": Access.of(*FIELD),
    # Code only, no data in it.
    "GET /assessment.js": Access.anyone(),
}
