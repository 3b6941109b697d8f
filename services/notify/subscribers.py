"""Webhook and e-mail subscriptions of an office, and the log of notifications queued
for them: claimed by the sender (`webhooks.py`) and marked sent, retried or failed."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select

from services.notify import domain
from services.notify.domain import NotificationStatus
from services.notify.models import NotificationRow, SubscriptionIn, SubscriptionRow
from shared.auth import scoped_office
from shared.errors import Conflict, Forbidden, NotFound
from shared.paging import Page, cursor_position, keyset
from shared.unit_of_work import UnitOfWork

# --- subscriptions ------------------------------------------------------------------


def create_subscription(uow: UnitOfWork, body: SubscriptionIn) -> SubscriptionRow:
    """Register a webhook endpoint (URL and event types are validated by `SubscriptionIn`).
    A signed-in user subscribes to their own office's events only; an endpoint for every
    office (no `office_id`) is for a user of all offices."""
    scope = scoped_office()
    if scope is not None and body.office_id not in (None, scope):
        raise Forbidden("you subscribe to your own office's events only", code="other_office")
    row = SubscriptionRow(
        id=uuid4(),
        office_id=scope or body.office_id,
        channel=body.channel,
        role=body.role,
        url=str(body.url) if body.url is not None else None,
        email=body.email,
        event_types=list(dict.fromkeys(body.event_types)),
        active=True,
        created_at=uow.now(),
        signing_secret=new_signing_secret() if body.channel == "webhook" else None,
    )
    uow.session.add(row)
    return row


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64 (the spec asks
    for 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def renew_signing_secret(uow: UnitOfWork, subscription_id: UUID) -> SubscriptionRow:
    """Give a webhook subscription a new signing secret (the old one stops at once): for
    a leaked secret, or a subscription made before deliveries were signed."""
    row = uow.session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None or not _callers_subscription(row):
        raise NotFound(f"no subscription {subscription_id}", code="subscription_not_found")
    if row.channel != "webhook":
        raise Conflict("only a webhook subscription is signed", code="not_a_webhook")
    row.signing_secret = new_signing_secret()
    uow.session.add(row)
    return row


def list_subscriptions(
    uow: UnitOfWork, *, active: bool | None, after: str | None, limit: int
) -> Page[SubscriptionRow]:
    """The caller's office's subscriptions, oldest first, a page of `limit` after the
    cursor `after`, with how many match."""
    conditions: list[ColumnElement[bool]] = []
    if (scope := scoped_office()) is not None:
        conditions.append(col(SubscriptionRow.office_id) == scope)
    if active is not None:
        conditions.append(col(SubscriptionRow.active) == active)
    query = keyset(
        select(SubscriptionRow).where(*conditions),
        (col(SubscriptionRow.created_at), col(SubscriptionRow.id)),
        newest_first=False,
        after=cursor_position(after, (datetime, UUID)),
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    total = uow.session.exec(
        select(func.count()).select_from(SubscriptionRow).where(*conditions)
    ).one()
    return Page.of(rows, limit, lambda row: (row.created_at, row.id), total=int(total))


def deactivate_subscription(uow: UnitOfWork, subscription_id: UUID) -> SubscriptionRow:
    """Stop sending to an endpoint; what was still waiting for it is marked failed."""
    row = uow.session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None or not _callers_subscription(row):
        raise NotFound(f"no subscription {subscription_id}", code="subscription_not_found")
    if row.active:
        row.active = False
        uow.session.add(row)
        uow.session.execute(
            update(NotificationRow)
            .where(
                col(NotificationRow.subscription_id) == subscription_id,
                col(NotificationRow.status) == NotificationStatus.PENDING,
            )
            .values(
                status=NotificationStatus.FAILED,
                next_attempt_at=None,
                last_error="subscription deactivated",
            )
        )
    return row


def _callers_subscription(row: SubscriptionRow) -> bool:
    """Whether the current request may see the subscription: one for every office only
    a user of all offices may."""
    return scoped_office() is None or row.office_id == scoped_office()


# --- the notification log and its delivery ------------------------------------------


def list_notifications(
    uow: UnitOfWork,
    *,
    status: NotificationStatus | None,
    case_id: UUID | None,
    subscription_id: UUID | None,
    after: str | None,
    limit: int,
) -> Page[NotificationRow]:
    """The log of notifications to the caller's office's subscriptions, newest first, a
    page of `limit` after the cursor `after`. Not counted: the log grows with every event
    and endpoint, and a count would read all of it on every page."""
    query = select(NotificationRow)
    if (scope := scoped_office()) is not None:
        callers = select(SubscriptionRow.id).where(SubscriptionRow.office_id == scope)
        query = query.where(col(NotificationRow.subscription_id).in_(callers))
    if status is not None:
        query = query.where(NotificationRow.status == status)
    if case_id is not None:
        query = query.where(NotificationRow.case_id == case_id)
    if subscription_id is not None:
        query = query.where(NotificationRow.subscription_id == subscription_id)
    query = keyset(
        query,
        (col(NotificationRow.created_at), col(NotificationRow.id)),
        newest_first=True,
        after=cursor_position(after, (datetime, UUID)),
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    return Page.of(rows, limit, lambda row: (row.created_at, row.id))


@dataclass(frozen=True)
class OutgoingWebhook:
    """One POST to make: where, what, and which attempt this is."""

    notification_id: UUID
    channel: str
    url: str | None
    email: str | None
    event_id: UUID
    event_type: str
    body: bytes
    attempt: int
    signing_secret: str | None = field(default=None, repr=False)


def claim_due_notifications(
    uow: UnitOfWork, *, limit: int, lease: timedelta, exclude: Collection[UUID] = ()
) -> list[OutgoingWebhook]:
    """Take up to `limit` pending notifications that are due, oldest first.

    Each is leased (its next attempt pushed `lease` ahead) in this transaction, so another
    sender does not take it too, and a crash mid-send retries it once the lease runs out.
    """
    now = uow.now()
    query = (
        select(NotificationRow, SubscriptionRow)
        .join(SubscriptionRow, col(SubscriptionRow.id) == col(NotificationRow.subscription_id))
        .where(
            col(NotificationRow.status) == NotificationStatus.PENDING,
            col(NotificationRow.next_attempt_at) <= now,
            col(SubscriptionRow.active).is_(True),
        )
        .order_by(col(NotificationRow.next_attempt_at), col(NotificationRow.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True, of=NotificationRow)
    )
    if exclude:
        query = query.where(col(NotificationRow.id).not_in(list(exclude)))
    claimed: list[OutgoingWebhook] = []
    for notification, subscription in uow.session.exec(query).all():
        notification.next_attempt_at = now + lease
        uow.session.add(notification)
        claimed.append(
            OutgoingWebhook(
                notification_id=notification.id,
                channel=subscription.channel,
                url=subscription.url,
                email=subscription.email,
                event_id=notification.event_id,
                event_type=notification.event_type,
                body=json.dumps(notification.payload, separators=(",", ":")).encode(),
                attempt=notification.attempts + 1,
                signing_secret=subscription.signing_secret,
            )
        )
    return claimed


def record_delivery_attempt(
    uow: UnitOfWork,
    notification_id: UUID,
    *,
    response_status: int | None,
    error: str | None,
    max_attempts: int,
    response_ms: int | None = None,
    retry_base_s: float,
    retry_cap_s: float,
) -> NotificationRow | None:
    """Log one POST: sent when `error` is None, otherwise retried later or failed for good.

    None when the notification is gone or no longer pending (deactivated meanwhile).
    """
    row = uow.session.get(NotificationRow, notification_id, with_for_update=True)
    if row is None or row.status != NotificationStatus.PENDING:
        return None
    now = uow.now()
    row.attempts += 1
    row.response_status = response_status
    row.response_ms = response_ms
    if error is None:
        row.status, row.sent_at, row.next_attempt_at = NotificationStatus.SENT, now, None
    else:
        row.last_error = error[:500]
        wait = domain.after_failed_attempt(
            row.attempts, max_attempts=max_attempts, base_s=retry_base_s, cap_s=retry_cap_s
        )
        if wait is None:
            row.status, row.next_attempt_at = NotificationStatus.FAILED, None
        else:
            row.next_attempt_at = now + wait
    uow.session.add(row)
    return row
