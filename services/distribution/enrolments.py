"""Who receives permakanan: a verified person who meets its requirements enrolled in a
program (active from the next round opened, or queued as a candidate), the program's
enrolments in queue order, and a recipient who no longer qualifies replaced by the next
verified candidate."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import and_, func
from sqlmodel import col, select

from services.distribution.common import OFFICE_ZONE
from services.distribution.eligibility_rules import decision_of, refuse_ineligible
from services.distribution.listing import page_of
from services.distribution.models.permakanan import (
    EnrolmentIn,
    EnrolmentRow,
    EnrolmentStatus,
    ReplacementIn,
)
from services.distribution.models.registry import RecipientKind, RecipientRow
from services.distribution.permakanan import get_program
from services.distribution.registry import get_recipient
from shared.errors import Conflict, NotFound, Unprocessable
from shared.paging import Page
from shared.unit_of_work import UnitOfWork


def enrol(
    uow: UnitOfWork, program_id: UUID, body: EnrolmentIn, *, today: date | None = None
) -> EnrolmentRow:
    """Enrol a verified person who meets permakanan's requirements (or queue them as a
    candidate); enrolling again changes nothing and answers with the enrolment as it is.
    `today` is the office's date (the age of 60 counts from it)."""
    get_program(uow, program_id)
    recipient = get_recipient(uow, body.recipient_id)
    if recipient.kind is not RecipientKind.PERSON:
        raise Unprocessable("only persons receive permakanan", code="not_a_person")
    if not recipient.verified:
        raise Unprocessable(
            "the recipient has not been verified at home yet", code="recipient_not_verified"
        )
    if recipient.review_reason is not None:
        raise Conflict(
            f"the recipient is under review ({recipient.review_reason})",
            code="recipient_under_review",
        )
    refuse_ineligible(recipient, on=today or uow.now().astimezone(OFFICE_ZONE).date())
    if body.decision_id is not None:
        decision_of(uow, program_id, body.decision_id)
    existing = uow.session.exec(
        select(EnrolmentRow).where(
            EnrolmentRow.program_id == program_id, EnrolmentRow.recipient_id == body.recipient_id
        )
    ).first()
    if existing is not None:
        return existing
    now = uow.now()
    row = EnrolmentRow(
        program_id=program_id,
        recipient_id=body.recipient_id,
        status=EnrolmentStatus.CANDIDATE if body.as_candidate else EnrolmentStatus.ACTIVE,
        queued_at=now,
        active_from=None if body.as_candidate else now,
        decision_id=body.decision_id,
    )
    uow.session.add(row)
    return row


def enrolments_of(
    uow: UnitOfWork,
    program_id: UUID,
    status: EnrolmentStatus | None = None,
    *,
    after: str | None = None,
    limit: int,
) -> Page[EnrolmentRow]:
    """A page of a program's enrolments, in queue order, with how many match (counted on
    the program's index)."""
    condition = and_(col(EnrolmentRow.program_id) == program_id)
    if status is not None:
        condition = and_(condition, col(EnrolmentRow.status) == status)
    total = uow.session.exec(select(func.count()).select_from(EnrolmentRow).where(condition))
    key = (col(EnrolmentRow.queued_at), col(EnrolmentRow.id))
    return page_of(
        uow.session,
        select(EnrolmentRow).where(condition),
        key,
        types=(datetime, UUID),
        after=after,
        limit=limit,
        total=total.one(),
    )


def replace_recipient(
    uow: UnitOfWork, program_id: UUID, body: ReplacementIn
) -> tuple[EnrolmentRow, EnrolmentRow | None]:
    """End the enrolment of a recipient who no longer qualifies and activate the next
    verified candidate not under review (None when the queue is empty). Asking again
    answers with the same pair."""
    get_program(uow, program_id)
    ended = uow.session.exec(
        select(EnrolmentRow)
        .where(
            EnrolmentRow.program_id == program_id, EnrolmentRow.recipient_id == body.recipient_id
        )
        .with_for_update()
    ).first()
    if ended is None:
        raise NotFound("the recipient is not enrolled in this program", code="not_enrolled")
    if ended.status is EnrolmentStatus.ENDED:
        successor = uow.session.get(EnrolmentRow, ended.replaced_by) if ended.replaced_by else None
        return ended, successor
    if ended.status is EnrolmentStatus.CANDIDATE:
        raise Conflict("a candidate is not receiving yet", code="not_active")
    now = uow.now()
    successor = uow.session.exec(
        select(EnrolmentRow)
        .join(RecipientRow, col(RecipientRow.id) == col(EnrolmentRow.recipient_id))
        .where(
            EnrolmentRow.program_id == program_id,
            EnrolmentRow.status == EnrolmentStatus.CANDIDATE,
            col(RecipientRow.verified).is_(True),
            col(RecipientRow.review_reason).is_(None),
        )
        .order_by(col(EnrolmentRow.queued_at), col(EnrolmentRow.id))
        .limit(1)
        .with_for_update()
    ).first()
    ended.status, ended.ended_at, ended.end_reason = EnrolmentStatus.ENDED, now, body.reason
    if successor is not None:
        successor.status, successor.active_from = EnrolmentStatus.ACTIVE, now
        successor.replaces, ended.replaced_by = ended.id, successor.id
        uow.session.add(successor)
    uow.session.add(ended)
    return ended, successor
