"""A daily limit on seeing recipients' personal numbers in clear, per user.

A coordinator may need a recipient's NIK or phone a few times a day (a home visit, a
data-subject request); a script or a stolen session reading the whole registry one
`?reveal=true` at a time is a breach. So every reveal and every personal-data export
counts against `DISTRIBUTION_REVEAL_DAILY_LIMIT` per user and office day; beyond it the
answer is 429 `reveal_limit`, and each refused attempt is an alert: an audit entry with
the action `PersonalDataRevealLimitReached` (the coordinator sees it at `GET /audit`) and
a WARNING in the service log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, ClassVar, TypeVar
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.distribution.models.registry import PersonalDataRevealRow
from services.distribution.settings import DistributionSettings
from shared.auth import Principal
from shared.errors import LimitReached
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

LIMIT_REACHED = "PersonalDataRevealLimitReached"

Result = TypeVar("Result")


class RevealLimitReached(LimitReached):
    """The user has seen as many personal numbers today as the office allows."""

    code: ClassVar[str] = "reveal_limit"


def count_reveal(uow: UnitOfWork, *, subject: str, day: date, limit: int) -> int:
    """Count one more reveal by `subject` on `day` and return the day's total; refuses
    (the count rolls back with the transaction) when it would pass `limit`. One atomic
    upsert, so two reveals at once cannot both take the last one."""
    dialect = uow.session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    table = PersonalDataRevealRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    statement = (
        insert(table)
        .values(subject=subject, day=day, reveals=1)
        .on_conflict_do_update(
            index_elements=["subject", "day"], set_={"reveals": table.c.reveals + 1}
        )
        .returning(table.c.reveals)
    )
    used = int(uow.session.execute(statement).scalar_one())
    if used > limit:
        raise RevealLimitReached(
            f"you have seen personal numbers {limit} times today, the office's daily limit; "
            "the office's coordinator has been alerted"
        )
    return used


@dataclass(frozen=True)
class RevealAllowance:
    """The signed-in user's allowance of reveals for today (a FastAPI dependency)."""

    runtime: ServiceRuntime
    request: Request
    limit: int

    def spend(
        self, recipient_id: UUID, purpose: str | None, reveal: Callable[[UnitOfWork], Result]
    ) -> Result:
        """Run `reveal` (one use case that shows personal numbers in clear) if the caller
        is within today's limit; otherwise record the alert and answer 429."""
        principal: Principal | None = getattr(self.request.state, "principal", None)
        subject = principal.subject if principal is not None else "anonymous"
        zone = self.runtime.settings.zone(principal.office_id if principal is not None else None)

        def counted(uow: UnitOfWork) -> Result:
            today = uow.now().astimezone(zone).date()
            count_reveal(uow, subject=subject, day=today, limit=self.limit)
            return reveal(uow)

        try:
            return self.runtime.run(counted)
        except RevealLimitReached:
            office_id = principal.office_id if principal is not None else None
            self.runtime.run(
                lambda uow: uow.audit(
                    action=LIMIT_REACHED,
                    entity="recipient",
                    entity_id=str(recipient_id),
                    office_id=office_id,
                    details={
                        "limit": self.limit,
                        "purpose": purpose,
                        "path": self.request.url.path,
                    },
                )
            )
            logger.warning(
                "personal-data reveal refused: user %s (office %s) passed the daily limit of "
                "%d reveals, asking for recipient %s",
                subject,
                office_id,
                self.limit,
                recipient_id,
            )
            raise


def reveal_allowance(request: Request, runtime: RuntimeDep) -> RevealAllowance:
    """The caller's allowance, under the app's `reveal_daily_limit`."""
    settings: DistributionSettings = request.app.state.settings
    return RevealAllowance(runtime, request, settings.reveal_daily_limit)


RevealAllowanceDep = Annotated[RevealAllowance, Depends(reveal_allowance)]
