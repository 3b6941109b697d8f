"""Topic names, partition counts and message keys, defined once.

Each service writes one topic; events are keyed by case id so one incident's events stay
in order on one partition. Every topic has a dead-letter twin `<topic>.dlq`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.envelope import EventBase


@dataclass(frozen=True)
class Topic:
    """A topic, the service that writes it, the services that read it, and its partition
    count. `consumers` is what the producer's outbox retention waits for: a row is kept
    until each of their consumer groups has committed past it."""

    name: str
    producer: str
    consumers: tuple[str, ...] = ()
    partitions: int = 4

    @property
    def dlq(self) -> str:
        """The dead-letter topic for messages a consumer of this topic could not process."""
        return f"{self.name}.dlq"


INCIDENTS = Topic(
    "dinsos.intake.incidents", producer="intake", consumers=("logistics", "notify", "distribution")
)
DISPATCHES = Topic(
    "dinsos.logistics.dispatches", producer="logistics", consumers=("distribution", "notify")
)
DELIVERIES = Topic(
    "dinsos.distribution.deliveries", producer="distribution", consumers=("logistics", "notify")
)
RESPONSE_CLOCKS = Topic("dinsos.notify.response-clocks", producer="notify", consumers=("notify",))

ALL_TOPICS: tuple[Topic, ...] = (INCIDENTS, DISPATCHES, DELIVERIES, RESPONSE_CLOCKS)

_TOPIC_BY_PRODUCER = {topic.producer: topic for topic in ALL_TOPICS}
_TOPIC_BY_NAME = {topic.name: topic for topic in ALL_TOPICS}


def topic_named(name: str) -> Topic | None:
    """The topic of that name (None for one this system does not define)."""
    return _TOPIC_BY_NAME.get(name)


def consumer_group(service: str) -> str:
    """The consumer group a service's stream app joins (faust's app id)."""
    return f"dinsos-{service}"


def topic_for(event: EventBase) -> Topic:
    """The topic an event is published on: the one its producing service owns."""
    return _TOPIC_BY_PRODUCER[event.producer]


def key_for(event: EventBase) -> bytes:
    """Partition key: the case, so every event of one incident is ordered."""
    return str(event.case_id).encode()


def all_topic_names() -> list[tuple[str, int]]:
    """Every topic and DLQ with its partition count, for explicit creation at start-up."""
    names: list[tuple[str, int]] = []
    for topic in ALL_TOPICS:
        names.append((topic.name, topic.partitions))
        names.append((topic.dlq, 1))
    return names
