"""Nothing lost across restarts: the outbox is the log of record, the broker is transport.

The four services run as processes on a real Tansu broker, which keeps everything in
memory: killing it loses every event not yet consumed, as a power cut loses them on an
office PC, or a dead disk on a single-broker Kafka. Each service notices that the broker
no longer holds what it acknowledged and publishes its outbox again; the consumers'
inboxes absorb what they had already applied. And a broker that lost nothing is left
alone. Each scenario prints its figures (-s) and adds them to the run's summary.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from shared.stack import SERVICES, Stack
from tests.faults.test_faults import (
    WAREHOUSE,
    deliveries_of,
    dispatches_of,
    distinct_site,
    health,
    new_item,
)
from tests.support.stack import api, ok, report_and_verify, wait_for
from tests.support.templates import TemplateDatabases

# A check a second: a loss while running is found within a second or two.
STACK_ENV = {"DINSOS_ENVIRONMENT": "test", "DINSOS_LOG_CHECK_INTERVAL_S": "1"}
STEPS_NOTIFY_RECORDS_ONCE = (
    "IncidentReported",
    "IncidentVerified",
    "DispatchPlanned",
    "DispatchReleased",
    "DeliveryScheduled",
)


def start_stack(root: Path, databases: dict[str, str]) -> Stack:
    """The four services on a fresh broker, with these databases."""
    return Stack.start(data_dir=root / "data", database_urls=databases, extra_env=STACK_ENV)


def add_warehouse(stack: Stack) -> None:
    with api(stack, "logistics") as logistics:
        created = logistics.post(
            "/warehouses", json={**WAREHOUSE, "location": {"lat": -0.4186, "lon": 116.9864}}
        )
        assert created.status_code in (201, 409), created.text


def messaging_figures(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each service's /health counters that say what happened to its events."""
    figures: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        body = health(stack, service)
        figures[service] = {
            "published": body["messaging"]["published"],
            "republished": body["messaging"]["republished"],
            "losses_detected": body["messaging"]["losses_detected"],
            # Handled, less repeats, types passed over and steps parked (those count
            # when applied later, unparked).
            "applied": body["events_applied"]
            - body["events_duplicate"]
            - body["events_passed_over"]
            - body["events_parked"]
            + body["events_unparked"],
            "parked": body["events_parked"],
            "ignored_as_repeats": body["events_duplicate"],
            "passed_over": body["events_passed_over"],
            "dead_lettered": body["events_dead_lettered"],
        }
    return figures


def timeline_steps(stack: Stack, case: str) -> Counter[str]:
    """How many times each step is on the case's clock (none while it has no clock)."""
    with api(stack, "notify") as notify:
        answer = notify.get(f"/clocks/{case}/timeline")
    if answer.status_code == 404:
        return Counter()
    return Counter(step["event_type"] for step in ok(answer))


def steps_once_delivered(stack: Stack, case: str) -> Counter[str] | None:
    """The clock's steps, once the delivery is among them."""
    steps = timeline_steps(stack, case)
    return steps if steps["DeliveryScheduled"] else None


def steps_once_dispatched(stack: Stack, case: str) -> Counter[str] | None:
    """The clock's steps, once the dispatch is among them."""
    steps = timeline_steps(stack, case)
    return steps if steps["DispatchPlanned"] else None


def print_figures(title: str, figures: dict[str, Any]) -> None:
    """One JSON line (the run's summary has it too) and a table to paste into a note."""
    print(f"\n[{title}] {json.dumps(figures, sort_keys=True)}")
    per_service = figures.get("per_service", {})
    if per_service:
        columns = list(next(iter(per_service.values())))
        print("| service | " + " | ".join(columns) + " |")
        print("|---|" + "---:|" * len(columns))
        for service, row in per_service.items():
            print(f"| {service} | " + " | ".join(str(row[c]) for c in columns) + " |")
    totals = {k: v for k, v in figures.items() if k != "per_service"}
    print("; ".join(f"{k}: {v}" for k, v in totals.items()))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_incident_verified_before_a_power_cut_is_dispatched_once_after_it(
    backend: str,
    tmp_path: Path,
    figures: list[dict[str, Any]],
    template_databases: TemplateDatabases,
) -> None:
    databases = {
        name: template_databases.new_database_url(name, backend, tmp_path) for name in SERVICES
    }
    with start_stack(tmp_path, databases) as before:
        add_warehouse(before)
        item = new_item(before, 50)
        before.pause("logistics")  # hung: the verification waits on the broker for it
        case = report_and_verify(before, item, 6, distinct_site())
        wait_for(
            lambda: health(before, "intake")["outbox_pending"] == 0,
            what="intake to publish the verification",
        )
        before.kill_everything()  # the power cut: broker and every service at once

    with start_stack(tmp_path, databases) as after:
        planned = wait_for(partial(dispatches_of, after, case), what="the dispatch after restart")
        time.sleep(2.0)  # room for a second dispatch, were the event applied twice
        planned = dispatches_of(after, case)
        intake = health(after, "intake")["messaging"]
        notify_steps = wait_for(
            partial(steps_once_dispatched, after, case), what="notify to see the dispatch"
        )
    assert len(planned) == 1, planned
    assert sum(line["quantity"] for line in planned[0]["lines"]) == 6
    assert intake["losses_detected"] == 1
    assert intake["republished"] >= 2  # the report and its verification
    assert notify_steps["IncidentReported"] == notify_steps["IncidentVerified"] == 1
    row = {
        "scenario": f"power cut with logistics hung, restarted on a fresh broker ({backend})",
        "intake_rows_republished": intake["republished"],
        "dispatches_planned": len(planned),
        "notify_reported_verified_seen": [
            notify_steps["IncidentReported"],
            notify_steps["IncidentVerified"],
        ],
    }
    figures.append(row)
    print_figures("power cut", row)


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, template_databases: TemplateDatabases
) -> Iterator[Stack]:
    """One stack on PostgreSQL for the scenarios that keep it running."""
    root = tmp_path_factory.mktemp("lost-broker")
    databases = {
        name: template_databases.new_database_url(name, "postgresql", root) for name in SERVICES
    }
    with start_stack(root, databases) as stack:
        add_warehouse(stack)
        yield stack


def test_a_broker_restart_inside_a_burst_loses_and_doubles_nothing(
    running: Stack, figures: list[dict[str, Any]]
) -> None:
    incidents, each = 100, 2
    item = new_item(running, incidents * each)
    before = messaging_figures(running)
    numbers = itertools.count()

    def report(_: int) -> str:
        if next(numbers) == incidents // 2:
            running.restart_broker()  # half the burst is in, the rest still coming
        return report_and_verify(running, item, each, distinct_site())

    with ThreadPoolExecutor(max_workers=6) as pool:
        cases = list(pool.map(report, range(incidents)))
    planned = {
        case: wait_for(
            partial(dispatches_of, running, case), timeout_s=120, what=f"dispatch of {case}"
        )
        for case in cases
    }
    with api(running, "logistics") as logistics:
        for rows in planned.values():
            ok(logistics.post(f"/dispatches/{rows[0]['id']}/release", json={"released_by": "Budi"}))
    delivered = {
        case: wait_for(partial(deliveries_of, running, case), what=f"delivery of {case}")
        for case in cases
    }
    steps = {
        case: wait_for(
            partial(steps_once_delivered, running, case),
            timeout_s=90,
            what=f"clock of {case} to see its delivery",
        )
        for case in cases
    }
    time.sleep(2.0)  # room for a late second effect
    planned = {case: dispatches_of(running, case) for case in cases}
    delivered = {case: deliveries_of(running, case) for case in cases}
    after = messaging_figures(running)
    per_service = {
        service: {key: after[service][key] - before[service][key] for key in after[service]}
        for service in SERVICES
    }
    doubled_steps = Counter(
        step for counts in steps.values() for step in STEPS_NOTIFY_RECORDS_ONCE if counts[step] > 1
    )
    missing_steps = Counter(
        step for counts in steps.values() for step in STEPS_NOTIFY_RECORDS_ONCE if not counts[step]
    )
    row: dict[str, Any] = {
        "scenario": "broker restarted in a burst of 100 incidents, every service running",
        "incidents": incidents,
        "published": sum(r["published"] for r in per_service.values()),
        "republished": sum(r["republished"] for r in per_service.values()),
        "applied": sum(r["applied"] for r in per_service.values()),
        "ignored_as_repeats": sum(r["ignored_as_repeats"] for r in per_service.values()),
        "lost": sum(1 for case in cases if not planned[case] or not delivered[case])
        + sum(missing_steps.values()),
        "doubled": sum(len(rows) - 1 for rows in planned.values())
        + sum(len(rows) - 1 for rows in delivered.values())
        + sum(doubled_steps.values()),
        "clock_steps_missing": dict(missing_steps),
        "clock_steps_doubled": dict(doubled_steps),
        "per_service": per_service,
    }
    figures.append(row)
    print_figures("broker restart in a burst", row)
    assert all(len(rows) == 1 for rows in planned.values()), planned
    assert all(len(rows) == 1 for rows in delivered.values()), delivered
    assert not doubled_steps and not missing_steps, (doubled_steps, missing_steps)
    assert sum(r["losses_detected"] for r in per_service.values()) >= 1
    assert row["republished"] > 0


def test_services_restarted_against_a_broker_that_kept_its_log_republish_nothing(
    running: Stack, figures: list[dict[str, Any]]
) -> None:
    item = new_item(running, 20)
    with ThreadPoolExecutor(max_workers=4) as pool:  # several events to a relay round
        cases = list(
            pool.map(lambda _: report_and_verify(running, item, 2, distinct_site()), range(8))
        )
    for case in cases:
        wait_for(partial(dispatches_of, running, case), what=f"dispatch of {case}")
    kept_before = {s: health(running, s)["messaging"]["outbox_republished_rows"] for s in SERVICES}
    for service in SERVICES:  # crashed, not stopped: acks may be left unrecorded
        running.kill(service)
    running.restart(*SERVICES)
    wait_for(
        lambda: all(health(running, s)["messaging"]["checks"] >= 2 for s in SERVICES),
        what="two checks in every restarted service",
    )
    after = {s: health(running, s)["messaging"] for s in SERVICES}
    row = {
        "scenario": "every service SIGKILLed and restarted, the broker kept running",
        "checks": {s: after[s]["checks"] for s in SERVICES},
        "verdicts": {s: sorted(set(after[s]["last_verdicts"].values())) for s in SERVICES},
        "losses_detected": {s: after[s]["losses_detected"] for s in SERVICES},
        "rows_republished": {s: after[s]["republished"] for s in SERVICES},
    }
    figures.append(row)
    print_figures("restart, broker kept", row)
    for service in SERVICES:
        assert after[service]["losses_detected"] == 0, after[service]
        assert after[service]["republished"] == 0, after[service]
        assert after[service]["outbox_republished_rows"] == kept_before[service]
        assert set(after[service]["last_verdicts"].values()) == {"intact"}, after[service]
    assert all(len(dispatches_of(running, case)) == 1 for case in cases)
