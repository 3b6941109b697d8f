"""The decision "did the broker lose what it acknowledged?" as a pure function: what the
outbox recorded against what the broker reports, without Kafka."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.broker_log import (
    AcknowledgedPartition,
    AcknowledgedTopic,
    ObservedPartition,
    ObservedTopic,
    Verdict,
    judge,
)

TOPIC = "dinsos.intake.incidents"
CLUSTER = "tansu-1"


def recorded(*marks: tuple[int, int, str], cluster: str | None = CLUSTER) -> AcknowledgedTopic:
    """The outbox's record: (partition, end, event acknowledged last) per partition."""
    return AcknowledgedTopic(
        TOPIC, cluster, tuple(AcknowledgedPartition(p, end, last) for p, end, last in marks)
    )


def broker(
    *partitions: ObservedPartition, cluster: str = CLUSTER, partition_count: int = 4
) -> ObservedTopic:
    return ObservedTopic(
        cluster_id=cluster,
        exists=True,
        partition_ids=frozenset(range(partition_count)),
        partitions={p.partition: p for p in partitions},
    )


def holding(partition: int, high_watermark: int, at_last: str | None) -> ObservedPartition:
    return ObservedPartition(partition, high_watermark, 0, at_last)


def test_a_broker_holding_every_acknowledged_record_is_intact() -> None:
    judgement = judge(
        recorded((0, 10, "e9"), (2, 3, "e2")), broker(holding(0, 10, "e9"), holding(2, 3, "e2"))
    )
    assert judgement.verdict is Verdict.INTACT


def test_a_log_that_grew_past_what_was_acknowledged_is_intact() -> None:
    # Other records came after ours (another producer's, or ours not yet marked).
    assert judge(recorded((1, 5, "e4")), broker(holding(1, 900, "e4"))).verdict is Verdict.INTACT


def test_a_different_cluster_id_is_a_loss() -> None:
    judgement = judge(recorded((0, 4, "e3")), broker(holding(0, 4, "e3"), cluster="tansu-2"))
    assert judgement.lost
    assert "cluster id" in judgement.reasons[0]


def test_a_different_cluster_id_is_a_loss_even_when_nothing_was_acknowledged_there() -> None:
    assert judge(recorded(), broker(cluster="another")).lost


def test_a_missing_topic_is_a_loss() -> None:
    gone = ObservedTopic(cluster_id=CLUSTER, exists=False)
    judgement = judge(recorded((0, 1, "e0")), gone)
    assert judgement.lost
    assert "gone" in judgement.reasons[0]


def test_a_missing_partition_is_a_loss() -> None:
    judgement = judge(recorded((3, 2, "e1")), broker(partition_count=1))
    assert judgement.lost
    assert f"{TOPIC}[3] is gone" in judgement.reasons


def test_an_empty_recreated_topic_is_a_loss() -> None:
    # A restarted in-memory Tansu: the topic is created again at start-up, empty.
    judgement = judge(recorded((0, 57, "e56")), broker(holding(0, 0, None)))
    assert judgement.lost
    assert "ends at 0, 57 were acknowledged" in judgement.reasons[0]


def test_a_high_watermark_one_below_what_was_acknowledged_is_a_loss() -> None:
    assert judge(recorded((0, 10, "e9")), broker(holding(0, 9, None))).lost


def test_a_recreated_topic_refilled_past_the_acknowledged_offset_is_a_loss() -> None:
    judgement = judge(recorded((0, 10, "e9")), broker(holding(0, 40, "someone-else")))
    assert judgement.lost
    assert "re-created" in judgement.reasons[0]


def test_records_removed_by_retention_after_their_end_are_not_a_loss() -> None:
    expired = ObservedPartition(0, high_watermark=12, log_start=12, event_id_at_last_ack=None)
    assert judge(recorded((0, 10, "e9")), broker(expired)).verdict is Verdict.INTACT


def test_an_unreadable_partition_is_unknown_never_lost() -> None:
    failed = ObservedPartition(0, -1, -1, error="NotLeaderForPartitionError")
    judgement = judge(recorded((0, 10, "e9")), broker(failed))
    assert judgement.verdict is Verdict.UNKNOWN
    assert not judgement.lost


def test_a_record_the_broker_did_not_return_is_unknown_never_lost() -> None:
    judgement = judge(recorded((0, 10, "e9")), broker(holding(0, 10, None)))
    assert judgement.verdict is Verdict.UNKNOWN


def test_one_lost_partition_among_intact_ones_is_a_loss() -> None:
    judgement = judge(
        recorded((0, 5, "a"), (1, 5, "b")), broker(holding(0, 5, "a"), holding(1, 2, None))
    )
    assert judgement.lost
    assert judgement.reasons == (f"{TOPIC}[1] ends at 2, 5 were acknowledged",)


def test_nothing_acknowledged_yet_is_intact_on_a_first_check() -> None:
    first = judge(recorded(cluster=None), ObservedTopic(cluster_id=CLUSTER, exists=False))
    assert first.verdict is Verdict.INTACT


@given(
    ends=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=4),
    grown=st.lists(st.integers(min_value=0, max_value=10_000), min_size=4, max_size=4),
)
def test_a_broker_that_only_grew_is_never_judged_lost(ends: list[int], grown: list[int]) -> None:
    marks = [(p, end, f"e{p}-{end}") for p, end in enumerate(ends)]
    observed = broker(*(holding(p, end + grown[p], f"e{p}-{end}") for p, end, _ in marks))
    assert judge(recorded(*marks), observed).verdict is Verdict.INTACT


@given(
    end=st.integers(min_value=1, max_value=10_000),
    shortfall=st.integers(min_value=1, max_value=10_000),
)
def test_a_broker_that_ends_anywhere_below_what_it_acknowledged_is_always_judged_lost(
    end: int, shortfall: int
) -> None:
    observed = broker(holding(0, max(0, end - shortfall), None))
    assert judge(recorded((0, end, "last")), observed).lost


@pytest.mark.parametrize("cluster", [None, CLUSTER])
def test_a_first_check_without_a_recorded_cluster_still_judges_the_offsets(
    cluster: str | None,
) -> None:
    assert judge(recorded((0, 3, "e2"), cluster=cluster), broker(holding(0, 0, None))).lost
