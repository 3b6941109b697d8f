"""Nothing lost, nothing doubled, under the faults an office will meet: a service killed
while it handles events, every event delivered twice and out of order, poison on every
consumed topic, the database gone for a while, and a burst of dispatches against scarce
stock. The four services run as processes on a real Tansu broker and PostgreSQL (what the
offices run); each scenario records its figures, printed at the end of the run."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import psycopg
import pytest

from shared.clock import office_today
from shared.contracts.intake import IncidentVerified
from shared.contracts.logistics import DispatchPlanned
from shared.contracts.union import parse_event, serialize_event
from shared.stack import SERVICES, Stack
from shared.topics import DELIVERIES, DISPATCHES, INCIDENTS
from tests.support.databases import postgres_admin_url
from tests.support.kafka import collect, send_raw
from tests.support.stack import api, ok, report_and_verify, wait_for
from tests.support.templates import TemplateDatabases

T = TypeVar("T")
WAREHOUSE = {"code": "GDG-TGR", "name": "Gudang Bencana Tenggarong"}
_site_numbers = itertools.count()


@pytest.fixture(scope="module", params=["postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    template_databases: TemplateDatabases,
) -> Iterator[tuple[Stack, dict[str, str]]]:
    root = tmp_path_factory.mktemp(f"faults-{request.param}")
    databases = {
        name: template_databases.new_database_url(name, "postgresql", root) for name in SERVICES
    }
    with Stack.start(
        data_dir=root / "data",
        database_urls=databases,
        extra_env={"DINSOS_ENVIRONMENT": "test"},
    ) as running:
        with api(running, "logistics") as logistics:
            created = logistics.post(
                "/warehouses", json={**WAREHOUSE, "location": {"lat": -0.4186, "lon": 116.9864}}
            )
            assert created.status_code in (201, 409), created.text
        yield running, databases


def new_item(stack: Stack, *lot_quantities: int) -> str:
    """A fresh catalogue item with lots of the given sizes, oldest first."""
    item = f"RICE-{uuid.uuid4().hex[:6].upper()}"
    today = office_today()
    with api(stack, "logistics") as logistics:
        ok(logistics.post("/items", json={"code": item, "name": "Beras 5 kg", "unit": "sak"}), 201)
        for age, quantity in enumerate(lot_quantities):
            ok(
                logistics.post(
                    "/lots",
                    json={
                        "item_code": item,
                        "warehouse_code": WAREHOUSE["code"],
                        "quantity": quantity,
                        "received_on": (today - timedelta(days=100 - age)).isoformat(),
                        "source": "PO-FAULT/2026",
                        "received_by": "Pak Budi",
                    },
                ),
                201,
            )
    return item


def distinct_site() -> dict[str, float]:
    """A point ~11 km from every other one, so no two reports look like duplicates."""
    n = next(_site_numbers)
    return {"lat": round(-0.20 - 0.1 * (n % 12), 4), "lon": round(116.20 + 0.1 * (n // 12), 4)}


def recognised(health: dict[str, Any]) -> int:
    """Events a service saw and did not apply again: duplicates, and types it passes over
    (a report: logistics acts on the verification only)."""
    return int(health["events_duplicate"]) + int(health["events_passed_over"])


def health(stack: Stack, service: str) -> dict[str, Any]:
    with api(stack, service) as client:
        body: dict[str, Any] = client.get("/health").json()
        return body


def dispatches_of(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    with api(stack, "logistics") as logistics:
        rows: list[dict[str, Any]] = ok(logistics.get("/dispatches", params={"case_id": case_id}))
        return rows


def deliveries_of(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    with api(stack, "distribution") as distribution:
        rows: list[dict[str, Any]] = ok(
            distribution.get("/deliveries", params={"case_id": case_id})
        )
        return rows


def stock_of(stack: Stack, item: str) -> dict[str, Any]:
    with api(stack, "logistics") as logistics:
        levels: list[dict[str, Any]] = [
            row for row in ok(logistics.get("/stock")) if row["item_code"] == item
        ]
    assert len(levels) == 1, levels
    return levels[0]


def ledger_consistent(stack: Stack) -> bool:
    with api(stack, "logistics") as logistics:
        return bool(ok(logistics.get("/stock/audit"))["consistent"])


def crash_during_backlog(
    stack: Stack, service: str, make_backlog: Callable[[], T]
) -> tuple[T, int]:
    """Stop `service`, let `make_backlog` pile events up for it, start it again and SIGKILL
    it as soon as it has applied one: it then dies in the middle of the backlog, most
    likely inside an event. Start it once more and let it finish. Also returns how many
    events the last process found already applied (redelivered after the crash)."""
    stack.kill(service)
    result = make_backlog()
    stack.restart(service)
    wait_for(
        lambda: health(stack, service)["events_applied"] >= 1,
        interval_s=0.02,
        what=f"{service} applying events",
    )
    stack.kill(service)
    stack.restart(service)
    return result, int(health(stack, service)["events_duplicate"])


def test_a_service_killed_mid_event_loses_nothing_and_doubles_nothing(
    stack: tuple[Stack, dict[str, str]], figures: list[dict[str, Any]]
) -> None:
    running, _ = stack
    item = new_item(running, 100, 100, 100)
    incidents = 20

    cases, logistics_redelivered = crash_during_backlog(
        running,
        "logistics",
        lambda: [report_and_verify(running, item, 7, distinct_site()) for _ in range(incidents)],
    )
    planned = {
        case: wait_for(partial(dispatches_of, running, case), what=f"dispatch of {case}")
        for case in cases
    }
    assert all(len(rows) == 1 for rows in planned.values()), planned
    assert all(sum(line["quantity"] for line in rows[0]["lines"]) == 7 for rows in planned.values())
    stock = stock_of(running, item)
    assert (stock["on_hand"], stock["reserved"]) == (300, 7 * incidents)
    assert ledger_consistent(running)

    # Released goods become deliveries; kill distribution while it opens them.
    def release_all() -> None:
        with api(running, "logistics") as logistics:
            for rows in planned.values():
                dispatch = rows[0]["id"]
                ok(logistics.post(f"/dispatches/{dispatch}/release", json={"released_by": "Budi"}))

    _, distribution_redelivered = crash_during_backlog(running, "distribution", release_all)
    deliveries = {
        case: wait_for(partial(deliveries_of, running, case), what=f"delivery of {case}")
        for case in cases
    }
    assert all(len(rows) == 1 for rows in deliveries.values()), deliveries
    stock = stock_of(running, item)
    assert (stock["on_hand"], stock["reserved"]) == (300 - 7 * incidents, 0)
    assert ledger_consistent(running)

    planned_on_topic = [
        e
        for e in map(
            parse_event,
            (
                r.value
                for r in _run(
                    collect(
                        running.broker.bootstrap_servers,
                        DISPATCHES.name,
                        match=lambda r: r.key.decode() in cases,
                        count=10_000,
                        timeout_s=5,
                    )
                )
            ),
        )
        if isinstance(e, DispatchPlanned)
    ]
    per_case = Counter(str(e.case_id) for e in {e.event_id: e for e in planned_on_topic}.values())
    assert per_case == Counter(dict.fromkeys(cases, 1))
    figures.append(
        {
            "scenario": "SIGKILL inside a backlog (logistics, then distribution), restarted",
            "incidents_verified": incidents,
            "logistics_events_redelivered_after_crash": logistics_redelivered,
            "distribution_events_redelivered_after_crash": distribution_redelivered,
            "dispatches_planned": sum(len(rows) for rows in planned.values()),
            "deliveries_opened": sum(len(rows) for rows in deliveries.values()),
            "dispatch_planned_records_on_topic": len(planned_on_topic),
            "distinct_dispatch_planned_events": sum(per_case.values()),
            "lost": incidents - len(planned),
            "doubled": sum(len(rows) - 1 for rows in planned.values())
            + sum(len(rows) - 1 for rows in deliveries.values()),
        }
    )


def _has_key(key: bytes, record: Any) -> bool:
    return bool(record.key == key)


def _run(awaitable: Any) -> Any:
    import asyncio  # noqa: PLC0415 - these tests are synchronous but reuse async helpers

    return asyncio.run(awaitable)


def test_every_event_delivered_twice_and_out_of_order_has_one_effect(
    stack: tuple[Stack, dict[str, str]], figures: list[dict[str, Any]]
) -> None:
    running, _ = stack
    item = new_item(running, 50)
    cases = [report_and_verify(running, item, 3, distinct_site()) for _ in range(5)]
    for case in cases:
        wait_for(partial(dispatches_of, running, case), what="dispatch")
    stock_before = stock_of(running, item)
    records = _run(
        collect(
            running.broker.bootstrap_servers,
            INCIDENTS.name,
            match=lambda r: r.key.decode() in cases,
            # Report, the leadership's disposition (Kukar, 000) and verification.
            count=3 * len(cases),
            timeout_s=10,
        )
    )
    assert len(records) == 3 * len(cases)
    before = health(running, "logistics")

    async def resend_reversed() -> None:
        for record in reversed(records):  # the verification now comes before its report
            await send_raw(
                running.broker.bootstrap_servers, INCIDENTS.name, record.value, record.key
            )

    _run(resend_reversed())
    wait_for(
        lambda: recognised(health(running, "logistics")) >= recognised(before) + len(records),
        what="logistics to see every copy",
    )
    time.sleep(1.0)  # room for a wrong second effect to show up
    assert all(len(dispatches_of(running, case)) == 1 for case in cases)
    assert stock_of(running, item) == stock_before
    assert ledger_consistent(running)
    figures.append(
        {
            "scenario": "every incident event re-sent, in reverse order",
            "events_resent": len(records),
            "duplicates_detected": health(running, "logistics")["events_duplicate"]
            - before["events_duplicate"],
            "passed_over_as_not_logistics_business": health(running, "logistics")[
                "events_passed_over"
            ]
            - before["events_passed_over"],
            "dispatches_per_case": sorted({len(dispatches_of(running, c)) for c in cases}),
            "stock_changed": stock_of(running, item) != stock_before,
        }
    )


def test_poison_on_every_consumed_topic_is_dead_lettered_and_the_rest_goes_on(
    stack: tuple[Stack, dict[str, str]], figures: list[dict[str, Any]]
) -> None:
    running, _ = stack
    valid = IncidentVerified.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="intake",
        occurred_at=datetime.now(UTC),
        reported_at=datetime.now(UTC),
        destination={"lat": -0.42, "lon": 116.99},
        assessed_needs=[{"item_code": "RICE-5KG", "quantity": 1}],
        verified_by="Kabid",
    )
    schema_invalid = serialize_event(valid).replace(b'"quantity":1', b'"quantity":-5')
    poisons = [b"{not json", b'{"event_type": "Nonsense"}', schema_invalid]
    keys = {topic.name: uuid.uuid4().hex.encode() for topic in (INCIDENTS, DISPATCHES, DELIVERIES)}

    async def send_poison() -> None:
        for topic, key in keys.items():
            for poison in poisons:
                await send_raw(running.broker.bootstrap_servers, topic, poison, key)

    _run(send_poison())
    item = new_item(running, 10)
    after = report_and_verify(running, item, 2, distinct_site())  # the pipeline still moves
    assert wait_for(lambda: dispatches_of(running, after), what="dispatch after poison")

    dead: dict[str, Counter[tuple[str, str]]] = {}
    for topic, key in keys.items():
        records = _run(
            collect(
                running.broker.bootstrap_servers,
                f"{topic}.dlq",
                match=partial(_has_key, key),
                count=6,
                timeout_s=20,
            )
        )
        reasons: Counter[tuple[str, str]] = Counter(
            (dict(r.headers)["dlq.service"].decode(), dict(r.headers)["dlq.reason"].decode())
            for r in records
        )
        dead[topic] = reasons
        services = {service for service, _ in reasons}
        assert services, f"nothing dead-lettered from {topic}"
        for service in services:
            assert {reason for s, reason in reasons if s == service} == {
                "undecodable",
                "unknown_event_type",
                "invalid_event",
            }, (topic, reasons)
    figures.append(
        {
            "scenario": "poison on every consumed topic",
            "poison_sent_per_topic": len(poisons),
            "dead_lettered": {
                topic: {f"{service}:{reason}": n for (service, reason), n in counts.items()}
                for topic, counts in dead.items()
            },
            "pipeline_moved_after": True,
        }
    )


def _set_connections(database_url: str, allowed: bool) -> None:
    admin = postgres_admin_url()
    assert admin is not None
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allowed else "false"}'
        )
        if not allowed:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_database_gone_for_a_while_fails_cleanly_then_work_resumes(
    stack: tuple[Stack, dict[str, str]], figures: list[dict[str, Any]]
) -> None:
    running, databases = stack
    item = new_item(running, 40)
    _set_connections(databases["logistics"], allowed=False)
    try:
        with api(running, "logistics") as logistics:
            refused = logistics.post(
                "/lots",
                json={
                    "item_code": item,
                    "warehouse_code": WAREHOUSE["code"],
                    "quantity": 5,
                    "received_on": office_today().isoformat(),
                    "source": "PO-OUTAGE",
                    "received_by": "Pak Budi",
                },
            )
            health_during = logistics.get("/health")
        case = report_and_verify(running, item, 4, distinct_site())  # intake's own database is fine
        time.sleep(3.0)  # logistics keeps retrying this event meanwhile
    finally:
        _set_connections(databases["logistics"], allowed=True)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "database_unavailable"
    assert health_during.status_code == 503 and health_during.json()["database"] is False
    rows = wait_for(lambda: dispatches_of(running, case), what="dispatch after the outage")
    assert len(rows) == 1
    stock = stock_of(running, item)
    assert (stock["on_hand"], stock["reserved"], stock["lots"]) == (40, 4, 1)  # no half lot
    assert ledger_consistent(running)
    dead = _run(
        collect(
            running.broker.bootstrap_servers,
            INCIDENTS.dlq,
            match=lambda r: r.key == case.encode(),
            count=1,
            timeout_s=3,
        )
    )
    assert dead == []  # a database outage is retried, never dead-lettered
    figures.append(
        {
            "scenario": "logistics database unavailable ~3 s",
            "http_during_outage": refused.status_code,
            "health_during_outage": health_during.status_code,
            "event_dispatched_after_outage": len(rows),
            "dead_lettered": len(dead),
            "lots_half_written": stock["lots"] - 1,
        }
    )


def test_a_burst_of_dispatches_never_over_allocates_scarce_stock(
    stack: tuple[Stack, dict[str, str]], figures: list[dict[str, Any]]
) -> None:
    running, _ = stack
    item = new_item(running, 60, 40)
    incidents, each = 30, 7
    with ThreadPoolExecutor(max_workers=10) as pool:
        cases = list(
            pool.map(
                lambda _: report_and_verify(running, item, each, distinct_site()), range(incidents)
            )
        )

    def handled() -> bool:
        with api(running, "logistics") as logistics:
            for case in cases:
                has_dispatch = bool(ok(logistics.get("/dispatches", params={"case_id": case})))
                has_shortage = bool(ok(logistics.get("/shortages", params={"case_id": case})))
                if not (has_dispatch or has_shortage):
                    return False
        return True

    wait_for(handled, timeout_s=90, what="every incident allocated or short")
    with api(running, "logistics") as logistics:
        planned = sum(
            line["quantity"]
            for case in cases
            for dispatch in ok(logistics.get("/dispatches", params={"case_id": case}))
            for line in dispatch["lines"]
        )
        missing = sum(
            row["missing"]
            for case in cases
            for row in ok(logistics.get("/shortages", params={"case_id": case}))
        )
    stock = stock_of(running, item)
    assert stock["reserved"] == planned == 100  # every unit used, none twice
    assert planned + missing == incidents * each
    assert ledger_consistent(running)
    figures.append(
        {
            "scenario": "burst of concurrent dispatches against scarce stock",
            "incidents": incidents,
            "units_demanded": incidents * each,
            "units_in_stock": 100,
            "units_reserved": stock["reserved"],
            "units_reported_missing": missing,
            "over_allocated": max(0, stock["reserved"] - 100),
        }
    )
