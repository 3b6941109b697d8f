"""What notify consumes and the ticker that watches the clocks.

Both topics go to one use case that dispatches on the event type; the agents themselves
(parse, dead-letter, retry, apply once) are the shared runtime's. The ticker compares
every open clock with the service's clock, so warnings come from the passing of time, not
from a message.
"""

from __future__ import annotations

import asyncio
import logging

from services.notify import alerting, announcements, case_clocks
from services.notify.settings import notify_settings
from services.notify.standards import Standards
from shared.contracts.union import AnyEvent
from shared.runtime import ServiceRuntime
from shared.subscriptions import BackgroundTask, Subscription
from shared.topics import ALL_TOPICS
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def subscriptions(standards: Standards) -> tuple[Subscription, ...]:
    """Every topic (intake, logistics, distribution and notify's own), judged by
    `standards`; events that start, stop or advance no clock are ignored.

    A function rather than a constant: the standards are read when the service starts,
    never at import time.
    """

    def handle(uow: UnitOfWork, event: AnyEvent) -> None:
        case_clocks.apply_event(uow, event, standards)

    def concerns(event: AnyEvent) -> bool:
        return case_clocks.may_concern_a_clock(standards, event)

    return tuple(
        Subscription(topic=topic, handle=handle, concerns=concerns) for topic in ALL_TOPICS
    )


def clock_ticker(standards: Standards) -> BackgroundTask:
    """The ticker, bound to the standards (escalation times are per office)."""

    async def run(runtime: ServiceRuntime) -> None:
        await tick_clocks(runtime, standards)

    return run


async def tick_clocks(runtime: ServiceRuntime, standards: Standards | None = None) -> None:
    """Every NOTIFY_TICK_INTERVAL_S, raise the warnings and breaches that are due.

    A failed tick (database restarting) is logged and the next one tries again: nothing
    is lost, because what is due is computed from the stored clocks, not remembered.
    """
    interval_s = notify_settings(runtime).tick_interval_s
    while True:
        try:
            emitted = await asyncio.to_thread(
                runtime.run, lambda uow: alerting.tick(uow, standards)
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # the ticker must outlive any one failure
            log.exception("tick failed; retrying in %.1fs", interval_s)
        else:
            for event in emitted:
                log.info("%s for case %s", announcements.event_type_of(event), event.case_id)
        await asyncio.sleep(interval_s)
