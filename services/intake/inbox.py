"""What the coordinator's screens show of a report waiting for a decision: the report named
by place and hazard, its reporter (phone masked), photos, the duplicates linked to it and
the time left on the 24-hour clock; read in one transaction per page, never changed here
(the decisions go through the API, the one place where their rules live)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from services.intake.domain import IncidentStatus
from services.intake.handlers import get_incident
from services.intake.models import (
    FieldReportRow,
    IncidentRow,
    IncidentUpdateRow,
    PhotoRow,
)
from services.intake.privacy import shown_phone
from shared.auth import scoped_office
from shared.contracts.envelope import NeedLine
from shared.paging import Page, cursor_position, keyset
from shared.privacy import PersonalDataVault
from shared.regions import Regions
from shared.unit_of_work import UnitOfWork

# intake does not hold the offices' published standards (notify does, and services share
# only events): the screens count the national 1x24 h from the report, which is the
# emergency standard of every office today.
RESPONSE_LIMIT = timedelta(hours=24)
# Less than this left reads as urgent on the screen.
URGENT_WITHIN = timedelta(hours=6)
PAGE_SIZE = 20
THUMBNAILS_IN_LIST = 3


# Catalogue codes offered while typing (the phone form offers the same); logistics owns
# the catalogue, so any well-formed code may be sent and a missing one becomes a shortfall.
COMMON_ITEMS = (
    "RICE-5KG",
    "INSTANT-NOODLE",
    "MINERAL-WATER",
    "FAMILY-KIT",
    "TENT-FAMILY",
    "VELBED",
    "BLANKET",
)


@dataclass(frozen=True)
class Reporter:
    """Who sent a report, as a screen shows them: the phone masked, never in full."""

    name: str
    role: str
    phone: str | None


@dataclass(frozen=True)
class LinkedReport:
    """A duplicate report of the same event, joined to the incident."""

    id: UUID
    reporter: Reporter
    reported_at: datetime
    households_affected: int
    people_affected: int
    description: str
    distance_m: float | None
    minutes_apart: float | None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up report (laporan susulan) on the incident."""

    received_at: datetime
    reporter: Reporter
    households_affected: int | None
    people_affected: int | None
    added_needs: list[NeedLine]
    note: str


@dataclass(frozen=True)
class Photo:
    """A photo, served by the office-scoped `GET /photos/{id}`."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class ReportView:
    """One incident as the coordinator's screens show it."""

    incident: IncidentRow
    place: str | None  # "Sukarame, Tenggarong" from the region data; None: not known
    reporter: Reporter
    photos: list[Photo]
    linked: list[LinkedReport]
    follow_ups: list[FollowUp]
    deadline: datetime
    since_report: timedelta
    left: timedelta

    @property
    def urgency(self) -> str:
        """The badge's class: late, warn (under six hours left) or ok."""
        if self.left <= timedelta(0):
            return "late"
        return "warn" if self.left <= URGENT_WITHIN else "ok"

    @property
    def stated_needs(self) -> list[NeedLine]:
        return list(self.incident.stated_needs)

    @property
    def assessed_needs(self) -> list[NeedLine]:
        return list(self.incident.assessed_needs or [])

    @property
    def geo_uri(self) -> str | None:
        """A `geo:` link that opens the device's map application at the point."""
        point = self.incident.location()
        return f"geo:{point.lat:.6f},{point.lon:.6f}" if point is not None else None


@dataclass(frozen=True)
class InboxPage:
    """One page of reports waiting for a decision, oldest first."""

    reports: list[ReportView]
    waiting: int  # in the whole office, not only on this page
    next_cursor: str | None


def place_name(
    region_code: str | None, address: dict[str, object] | None, hierarchy: Regions
) -> str | None:
    """'Village, District' from the Kemendagri region data (its spelling, not the
    reporter's), 'District, Regency' when only the kecamatan is known; else the address as
    typed; None when the report has only a GPS point."""
    region = hierarchy.get(region_code) if region_code else None
    if region is not None:
        parent = hierarchy.get(region.parent_code) if region.parent_code else None
        if region.level in ("village", "district") and parent is not None:
            return f"{region.name}, {_without_kind(parent.name)}"
        return _without_kind(region.name)
    if address:
        typed = [address.get(part) for part in ("village", "district", "regency")]
        words = [str(part) for part in typed if part]
        return ", ".join(words[:2]) if words else None
    return None


def _without_kind(name: str) -> str:
    """'Kabupaten Kutai Kartanegara' reads as 'Kutai Kartanegara' in a headline."""
    for kind in ("Kabupaten ", "Kota Administrasi "):
        if name.startswith(kind):
            return name[len(kind) :]
    return name


def _reporter(
    row: IncidentRow | FieldReportRow | IncidentUpdateRow, vault: PersonalDataVault
) -> Reporter:
    return Reporter(
        name=row.reporter_name,
        role=row.reporter_role,
        phone=shown_phone(vault, row.reporter_phone),
    )


def inbox(
    uow: UnitOfWork,
    *,
    after: str | None,
    limit: int,
    vault: PersonalDataVault,
    hierarchy: Regions,
) -> InboxPage:
    """Reports of the caller's office waiting for a decision, oldest first (the first to
    run out of time), `limit` at a time after the cursor `after`."""
    office = scoped_office()
    waiting_filter: list[ColumnElement[bool]] = [col(IncidentRow.status) == IncidentStatus.REPORTED]
    if office is not None:  # None: the local development user, who sees every office
        waiting_filter.append(col(IncidentRow.office_id) == office)
    query = keyset(
        select(IncidentRow).where(*waiting_filter),
        (col(IncidentRow.reported_at), col(IncidentRow.id)),
        newest_first=False,
        after=cursor_position(after, (datetime, UUID)),
    )
    page = Page.of(
        uow.session.exec(query.limit(limit + 1)).all(),
        limit,
        lambda row: (row.reported_at, row.id),
    )
    waiting = uow.session.exec(
        select(func.count()).select_from(IncidentRow).where(*waiting_filter)
    ).one()
    return InboxPage(
        reports=_views(uow, page.items, vault, hierarchy, with_follow_ups=False),
        waiting=int(waiting),
        next_cursor=page.next_after,
    )


def one_report(
    uow: UnitOfWork, incident_id: UUID, *, vault: PersonalDataVault, hierarchy: Regions
) -> ReportView:
    """One incident of the caller's office in full (404 as the API answers otherwise)."""
    row = get_incident(uow, incident_id)
    return _views(uow, [row], vault, hierarchy, with_follow_ups=True)[0]


def _views(
    uow: UnitOfWork,
    rows: Sequence[IncidentRow],
    vault: PersonalDataVault,
    hierarchy: Regions,
    *,
    with_follow_ups: bool,
) -> list[ReportView]:
    """Views of `rows`, with a fixed number of queries whatever their number."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    reports = uow.session.exec(
        select(FieldReportRow)
        .where(col(FieldReportRow.incident_id).in_(ids))
        .order_by(col(FieldReportRow.reported_at))
    ).all()
    # The report that opened an incident has the incident's id; it keeps the region code.
    region_of = {report.id: report.region_code for report in reports}
    linked: dict[UUID, list[LinkedReport]] = defaultdict(list)
    for report in reports:
        if report.linked:
            linked[report.incident_id].append(
                LinkedReport(
                    id=report.id,
                    reporter=_reporter(report, vault),
                    reported_at=report.reported_at,
                    households_affected=report.households_affected,
                    people_affected=report.people_affected,
                    description=report.description,
                    distance_m=report.distance_m,
                    minutes_apart=report.minutes_apart,
                )
            )
    photos: dict[UUID, list[Photo]] = defaultdict(list)
    for photo in uow.session.exec(
        select(PhotoRow)
        .where(col(PhotoRow.incident_id).in_(ids))
        .order_by(col(PhotoRow.uploaded_at))
    ).all():
        photos[photo.incident_id].append(Photo(f"/photos/{photo.id}", photo.width, photo.height))
    follow_ups: dict[UUID, list[FollowUp]] = defaultdict(list)
    if with_follow_ups:
        for update in uow.session.exec(
            select(IncidentUpdateRow)
            .where(col(IncidentUpdateRow.incident_id).in_(ids))
            .order_by(col(IncidentUpdateRow.received_at))
        ).all():
            follow_ups[update.incident_id].append(
                FollowUp(
                    received_at=update.received_at,
                    reporter=_reporter(update, vault),
                    households_affected=update.households_affected,
                    people_affected=update.people_affected,
                    added_needs=list(update.added_needs),
                    note=update.note,
                )
            )
    now = uow.now()
    views = []
    for row in rows:
        deadline = row.reported_at + RESPONSE_LIMIT
        views.append(
            ReportView(
                incident=row,
                place=place_name(region_of.get(row.id), row.address, hierarchy),
                reporter=_reporter(row, vault),
                photos=photos[row.id],
                linked=linked[row.id],
                follow_ups=follow_ups[row.id],
                deadline=deadline,
                since_report=now - row.reported_at,
                left=deadline - now,
            )
        )
    return views
