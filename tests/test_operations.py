"""What an operator sees of every service: /livez (the process answers), /readyz (database,
broker and consumer up, else which failed) and /metrics (Prometheus' text format)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.logistics.app import create_app as logistics_app
from services.logistics.settings import LogisticsSettings
from services.notify.app import create_app as notify_app
from services.notify.models import ClockRow
from services.notify.settings import NotifySettings
from shared.auth import Access, AuthSettings
from shared.logs import log_handler
from shared.privacy import PersonalDataFilter
from shared.settings import CommonSettings
from shared.tansu import TansuBroker
from shared.unit_of_work import UnitOfWork
from tests.intake.test_api import report
from tests.support.access import signed_in
from tests.support.services import ready_client, settings_for


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels), parsed as Prometheus parses it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_livez_answers_while_the_database_is_unreachable_and_readyz_names_it(
    tmp_path: Path,
) -> None:
    settings = IntakeSettings(
        # Nothing listens on port 9: every connection is refused.
        database_url="postgresql://dinsos@127.0.0.1:9/intake",
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=False),
    )
    client = TestClient(intake_app(settings), raise_server_exceptions=False)
    live = client.get("/livez")
    assert live.status_code == 200
    assert live.json() == {"service": "intake", "status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["database", "broker"]
    assert ready.json()["database"] is False


def test_readyz_is_503_naming_broker_and_consumer_before_they_are_up(tmp_path: Path) -> None:
    app = logistics_app(signed_in(LogisticsSettings, tmp_path))
    app.state.runtime.create_tables()
    # No lifespan: the producer and the consumer were never started.
    ready = TestClient(app).get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["failed"] == ["broker", "consuming"]
    assert body["database"] is True and body["status"] == "not_ready"


def test_readyz_answers_200_once_database_broker_and_consumer_are_up(
    broker: TansuBroker, database_url: str
) -> None:
    app = logistics_app(settings_for(LogisticsSettings, broker, database_url))
    with ready_client(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "service": "logistics",
            "status": "ready",
            "database": True,
            "broker": True,
            "consuming": True,
            "failed": [],
        }
        # A partition's lag is known once a fetch for it has been answered.
        deadline = time.monotonic() + 15
        topics: set[str] = set()
        while not topics and time.monotonic() < deadline:
            time.sleep(0.2)
            lag = samples(client.get("/metrics").text)
            topics = {
                dict(labels)["topic"] for name, labels in lag if name == "dinsos_consumer_lag"
            }
        assert topics, "a consuming service reports its lag per topic"
        assert all(value >= 0 for (name, _), value in lag.items() if name == "dinsos_consumer_lag")


def test_metrics_count_requests_by_route_template_and_status_without_a_token(
    tmp_path: Path,
) -> None:
    app = intake_app(signed_in(IntakeSettings, tmp_path))
    app.state.runtime.create_tables()
    client = TestClient(app)
    for _ in range(2):
        # Signed out: refused, and counted under the route's template, not its address.
        assert client.get(f"/incidents/{uuid.uuid4()}/reports").status_code == 401
    assert client.get(f"/no-such-page-{uuid.uuid4()}").status_code == 404
    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(scrape.text)
    templated = frozenset(
        {("method", "GET"), ("route", "/incidents/{incident_id}/reports"), ("status", "401")}
    )
    assert found[("http_requests_total", templated)] == 2
    unmatched = frozenset({("method", "GET"), ("route", "<unmatched>"), ("status", "404")})
    assert found[("http_requests_total", unmatched)] == 1
    latency = frozenset({("method", "GET"), ("route", "/incidents/{incident_id}/reports")})
    assert found[("http_request_duration_seconds_count", latency)] == 2
    assert not any("no-such-page" in str(labels) for _, labels in found)


def test_metrics_show_the_outbox_backlog_while_no_broker_takes_it(tmp_path: Path) -> None:
    settings = IntakeSettings(
        database_url=f"sqlite:///{tmp_path / 'intake.sqlite3'}",
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=False),
        photo_dir=tmp_path / "photos",
    )
    app = intake_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)
    before = samples(client.get("/metrics").text)
    assert before[("dinsos_outbox_pending", frozenset())] == 0
    created = client.post("/reports", json=report())
    assert created.status_code == 201, created.text
    after = samples(client.get("/metrics").text)
    assert after[("dinsos_outbox_pending", frozenset())] >= 1
    assert after[("dinsos_database_up", frozenset())] == 1
    assert after[("dinsos_events_total", frozenset({("outcome", "dead_lettered")}))] == 0


def test_notify_metrics_count_open_clocks_and_breaches(tmp_path: Path) -> None:
    app = notify_app(signed_in(NotifySettings, tmp_path))
    runtime = app.state.runtime
    runtime.create_tables()
    now = datetime.now(UTC)

    def clock(*, breached: bool, stopped: bool) -> ClockRow:
        return ClockRow(
            case_id=uuid.uuid4(),
            office_id="kukar",
            service_code="incident",
            started_at=now - timedelta(hours=30),
            deadline=now - timedelta(hours=6) if breached else now + timedelta(hours=6),
            target_seconds=86_400,
            warn_at=[],
            warned_fractions=[],
            breached_at=now - timedelta(hours=6) if breached else None,
            stopped_at=now if stopped else None,
            correlation_id=uuid.uuid4(),
            last_event_id=uuid.uuid4(),
        )

    def seed(uow: UnitOfWork) -> None:
        uow.session.add(clock(breached=False, stopped=False))
        uow.session.add(clock(breached=True, stopped=False))
        uow.session.add(clock(breached=True, stopped=True))
        uow.session.add(clock(breached=False, stopped=True))

    runtime.run(seed)
    found = samples(TestClient(app).get("/metrics").text)
    assert found[("dinsos_open_clocks", frozenset())] == 2
    assert found[("dinsos_open_clocks_breached", frozenset())] == 1
    assert found[("dinsos_clocks_breached", frozenset())] == 2


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/metrics"])
def test_probes_and_metrics_need_no_token_where_sign_in_is_required(
    path: str, tmp_path: Path
) -> None:
    app = notify_app(signed_in(NotifySettings, tmp_path))
    app.state.runtime.create_tables()
    answer = TestClient(app).get(path)
    assert answer.status_code in (200, 503), answer.text  # 503: no broker here


def intake_without_broker(tmp_path: Path) -> FastAPI:
    """The intake app on a SQLite file, sign-in not required, its lifespan not run."""
    app = intake_app(
        IntakeSettings(
            database_url=f"sqlite:///{tmp_path / 'intake.sqlite3'}",
            common=CommonSettings(environment="test", data_dir=tmp_path),
            auth=AuthSettings(required=False),
            photo_dir=tmp_path / "photos",
        )
    )
    app.state.runtime.create_tables()
    # A route of the test's own that writes a log line while serving a request.
    app.state.access_policy["GET /test-logs"] = Access.anyone()
    return app


def test_an_answer_echoes_the_callers_sane_request_id(tmp_path: Path) -> None:
    client = TestClient(intake_without_broker(tmp_path))
    answer = client.get("/livez", headers={"X-Request-ID": "posko-7.req_42:a"})
    assert answer.headers["x-request-id"] == "posko-7.req_42:a"


@pytest.mark.parametrize("offered", ["", "a" * 65, "<script>", "id with spaces", "-leading"])
def test_a_missing_or_hostile_request_id_is_replaced_by_a_new_one(
    offered: str, tmp_path: Path
) -> None:
    client = TestClient(intake_without_broker(tmp_path))
    answer = client.get("/livez", headers={"X-Request-ID": offered})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_every_answer_gets_its_own_request_id_refusals_included(tmp_path: Path) -> None:
    client = TestClient(intake_without_broker(tmp_path))
    ids = {client.get(f"/no-such-page-{n}").headers["x-request-id"] for n in range(3)}
    assert len(ids) == 3


def test_a_requests_log_lines_carry_its_id_as_json_with_personal_numbers_masked(
    tmp_path: Path,
) -> None:
    app = intake_without_broker(tmp_path)
    written = io.StringIO()
    handler = log_handler("json", written)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger(f"tests.operations.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    @app.get("/test-logs")
    def logs_something() -> dict[str, str]:  # a sync route: runs in a worker thread
        logger.info("called back +6281234567890 about NIK 6402011234567890")
        return {}

    served = TestClient(app).get("/test-logs", headers={"X-Request-ID": "req-json-1"})
    assert served.status_code == 200, served.text
    logger.info("outside any request")
    first, second = (json.loads(line) for line in written.getvalue().splitlines())
    assert first["request_id"] == "req-json-1"
    assert first["level"] == "INFO" and first["logger"] == logger.name
    assert "1234567890" not in first["message"]
    assert "+6281" in first["message"] and "640201" in first["message"]
    assert second["request_id"] == "-"


def test_text_log_lines_carry_the_request_id_in_brackets(tmp_path: Path) -> None:
    app = intake_without_broker(tmp_path)
    written = io.StringIO()
    logger = logging.getLogger(f"tests.operations.{uuid.uuid4().hex}")
    logger.addHandler(log_handler("text", written))
    logger.setLevel(logging.INFO)

    @app.get("/test-logs")
    async def logs_something() -> dict[str, str]:
        logger.warning("something to say")
        return {}

    served = TestClient(app).get("/test-logs", headers={"X-Request-ID": "req-text-1"})
    assert served.status_code == 200, served.text
    assert f"WARNING {logger.name} [req-text-1]: something to say" in written.getvalue()


def test_the_audit_entry_of_a_request_names_the_request_id_the_answer_carries(
    tmp_path: Path,
) -> None:
    app = intake_without_broker(tmp_path)
    created = TestClient(app).post("/reports", json=report())
    assert created.status_code == 201, created.text
    request_id = created.headers["x-request-id"]
    runtime = app.state.runtime
    entries = runtime.run(lambda uow: runtime.audit_trail.list(uow.session))
    assert entries
    assert all(entry["source"].endswith(f" {request_id}") for entry in entries)


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_api_docs_load_only_the_services_own_assets_under_a_strict_policy(
    page: str, tmp_path: Path
) -> None:
    app = notify_app(signed_in(NotifySettings, tmp_path))
    client = TestClient(app)
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "http://" not in html and "https://" not in html, "nothing from another host"
    policy = answer.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", policy)
    assert nonce is not None
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-eval" not in policy and "http" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts
    assert all(f'nonce="{nonce[1]}"' in attributes for attributes in scripts)
    for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", html):
        if asset.endswith("openapi.json"):
            continue
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset


def test_the_docs_assets_are_swagger_ui_and_redoc_themselves(tmp_path: Path) -> None:
    client = TestClient(notify_app(signed_in(NotifySettings, tmp_path)))
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert "Redoc" in client.get("/docs/assets/redoc.standalone.js").text
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_a_service_process_logs_json_lines_with_personal_numbers_masked() -> None:
    # The logging a service process sets up (shared.serve), in a process of its own: it
    # replaces the root handlers, which this test process shares with pytest.
    program = (
        "import logging\n"
        "from shared.serve import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "log = logging.getLogger('services.intake')\n"
        "log.info('reporter +6281234567890 NIK 6402011234567890')\n"
        "try:\n"
        "    raise ValueError('bad NIK 6402011234567890')\n"
        "except ValueError:\n"
        "    log.exception('failed for +6281234567890')\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert "1234567890" not in ran.stderr
    info, error = (json.loads(line) for line in ran.stderr.splitlines())
    assert info["logger"] == "services.intake" and info["request_id"] == "-"
    assert info["message"].startswith("reporter +6281")
    assert error["level"] == "ERROR"
    assert "ValueError: bad NIK 64020112******90" in error["exception"]
