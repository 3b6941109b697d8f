"""The KRaft cluster id our Apache Kafka start-up makes (shared/apache_kafka.py)."""

from __future__ import annotations

import base64

from shared.apache_kafka import new_cluster_id


def test_a_cluster_id_never_starts_with_a_dash_which_the_storage_tool_reads_as_an_option() -> None:
    # One random id in 64 began with "-": `kafka-storage format -t -xyz...` then failed with
    # "argument --cluster-id/-t: expected one argument" (seen once in a full run).
    ids = [new_cluster_id() for _ in range(3000)]
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    for cluster_id in ids[:50]:
        assert len(cluster_id) == 22
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
