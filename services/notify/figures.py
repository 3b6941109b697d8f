"""notify's gauges on /metrics: clocks running and breached, notifications waiting and
given up; what a coordinator's dashboard would alert on."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from services.notify.domain import NotificationStatus
from services.notify.models import (
    ClockRow,
    NotificationRow,
)
from shared.subscriptions import Figure


def _count(
    session: Session, rows: type[ClockRow | NotificationRow], *conditions: ColumnElement[bool]
) -> float:
    query = select(func.count()).select_from(rows).where(*conditions)
    return float(session.execute(query).scalar_one())


# Notify's gauges on /metrics: what a coordinator's dashboard would alert on.
NOTIFY_FIGURES = (
    Figure(
        "open_clocks",
        "Response clocks running (not yet stopped), every office.",
        lambda session: _count(session, ClockRow, col(ClockRow.stopped_at).is_(None)),
    ),
    Figure(
        "open_clocks_breached",
        "Running response clocks already past their deadline.",
        lambda session: _count(
            session,
            ClockRow,
            col(ClockRow.stopped_at).is_(None),
            col(ClockRow.breached_at).is_not(None),
        ),
    ),
    Figure(
        "clocks_breached",
        "Response clocks ever breached (running or stopped late), kept in the database.",
        lambda session: _count(session, ClockRow, col(ClockRow.breached_at).is_not(None)),
    ),
    # A warning nobody received is as bad as none: a mail server refusing the login or a
    # dead webhook shows here before a coordinator misses an alert.
    Figure(
        "notifications_pending",
        "Webhooks and e-mails not yet delivered (due now or waiting for a retry).",
        lambda session: _count(
            session, NotificationRow, col(NotificationRow.status) == NotificationStatus.PENDING
        ),
    ),
    Figure(
        "notifications_failed",
        "Webhooks and e-mails given up after every attempt (see /notifications?status=failed).",
        lambda session: _count(
            session, NotificationRow, col(NotificationRow.status) == NotificationStatus.FAILED
        ),
    ),
)
