"""What a service declares to its runtime: the topics it consumes and the use case each
event goes to (`Subscription`), the jobs that run beside it (`BackgroundTask`), and the
gauges it adds to /metrics (`Figure`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from shared.contracts.envelope import EventBase
from shared.contracts.union import AnyEvent
from shared.topics import Topic
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

EventUseCase = Callable[[UnitOfWork, AnyEvent], None]


@dataclass(frozen=True)
class Subscription:
    """A topic a service consumes and the use case each of its events goes to.

    `acts_on` names the event types the use case does something with; the others on the
    topic are passed over without a transaction (None: every type goes to `handle`). A
    topic carries every step of a case, and most steps concern one consumer only, so this
    halves the transactions in front of the allocation."""

    topic: Topic
    handle: EventUseCase
    acts_on: tuple[type[EventBase], ...] | None = None
    # Beyond the type: whether this event can concern the use case at all (notify's clocks
    # never concern a lot's stock movement), judged without a transaction.
    concerns: Callable[[AnyEvent], bool] | None = None

    def wants(self, event: AnyEvent) -> bool:
        """Whether `event` goes to the use case."""
        if self.acts_on is not None and not isinstance(event, self.acts_on):
            return False
        return self.concerns is None or self.concerns(event)


BackgroundTask = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]  # started with the service


@dataclass(frozen=True)
class Figure:
    """A gauge a service adds to /metrics: `name` (prefixed `dinsos_`), its help text,
    and how to read its value in a read-only transaction."""

    name: str
    help: str
    read: Callable[[Session], float]
