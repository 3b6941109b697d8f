"""E-mail over a real local SMTP server (aiosmtpd), a webhook that keeps failing not
blocking the mail, and the SSE feed resuming after the last id it sent. Uses the
handlers' database on SQLite only: the channels do not depend on the backend."""

from __future__ import annotations

import asyncio
import email
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.notify import alerting, case_clocks, subscribers
from services.notify.app import router
from services.notify.board import board_router
from services.notify.domain import NotificationStatus
from services.notify.migrations import HISTORY
from services.notify.models import NotifyTable, SubscriptionIn
from services.notify.settings import NotifySettings
from services.notify.standards import Standards, load_standards
from services.notify.webhooks import send_notifications
from shared.clock import FixedClock
from shared.contracts.envelope import Address, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentReported, Reporter
from shared.http import install_error_handlers
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.support.kafka import eventually

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Mailbox:
    """An aiosmtpd handler that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        assert isinstance(envelope.content, bytes)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def report(case: uuid.UUID) -> IncidentReported:
    return IncidentReported.first(
        office_id="kukar",
        case_id=case,
        producer="intake",
        occurred_at=START,
        hazard=HazardType.LANDSLIDE,
        happened_at=START - HOUR,
        reporter=Reporter(name="Lurah Melayu", role="lurah"),
        location=GeoPoint(lat=-0.42, lon=116.98),
        address=Address(district="Tenggarong"),
        households_affected=3,
        people_affected=11,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=3),),
    )


@pytest.fixture
def standards() -> Standards:
    return load_standards()


def make_runtime(tmp_path: Path, clock: FixedClock, smtp_port: int, **smtp: Any) -> ServiceRuntime:
    """notify's runtime on a SQLite file, quick to retry; `smtp` overrides the plain
    loopback relay (`smtp_security="none"`) the channel tests use."""
    defaults: dict[str, Any] = {"smtp_security": "none", "smtp_timeout_s": 5.0}
    settings = NotifySettings(
        database_url=f"sqlite:///{tmp_path / 'notify.sqlite3'}",
        common=CommonSettings(environment="test"),
        smtp_port=smtp_port,
        **(defaults | smtp),
        webhook_timeout_s=1.0,
        webhook_poll_interval_s=0.05,
        webhook_retry_base_s=0.1,
        webhook_retry_cap_s=0.2,
        webhook_max_attempts=3,
        feed_poll_interval_s=0.05,
        webhook_allow_private_networks=True,  # the receivers listen on loopback
    )
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        migrations=HISTORY,
        clock=clock,
    )
    runtime.create_tables()
    return runtime


async def test_a_warning_is_mailed_once_while_a_dead_webhook_fails_on_its_own(
    tmp_path: Path, standards: Standards, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    clock = FixedClock(START)
    runtime = make_runtime(tmp_path, clock, port)
    mail = SubscriptionIn.model_validate(
        {"channel": "email", "email": "kabid@dinsos.example", "event_types": ["StageOverdue"]}
    )
    dead = SubscriptionIn.model_validate(
        # Port 9 (discard) refuses at once: every attempt fails.
        {"url": "http://127.0.0.1:9/hook", "event_types": ["StageOverdue"]}
    )
    mail_id = runtime.run(lambda uow: subscribers.create_subscription(uow, mail)).id
    dead_id = runtime.run(lambda uow: subscribers.create_subscription(uow, dead)).id
    case = uuid.uuid4()
    runtime.apply_event(
        "notify:t", lambda uow, e: case_clocks.apply_event(uow, e, standards), report(case)
    )
    clock.set(START + 5 * HOUR)
    [overdue] = [e for e in runtime.run(lambda uow: alerting.tick(uow, standards))
                 if type(e).__name__ == "StageOverdue"]  # fmt: skip

    def statuses() -> dict[uuid.UUID, tuple[NotificationStatus, int]]:
        rows = runtime.run(lambda uow: subscribers.list_notifications(
            uow, status=None, case_id=case, subscription_id=None, after=None, limit=10
        )).items  # fmt: skip
        return {r.subscription_id: (r.status, r.attempts) for r in rows}

    sender = asyncio.create_task(send_notifications(runtime))
    try:
        await eventually(lambda: box.messages, timeout_s=10)

        def dead_gave_up() -> bool:
            # Retries wait on the service clock: move it past each backoff.
            clock.advance(timedelta(seconds=1))
            return statuses()[dead_id][0] is NotificationStatus.FAILED

        await eventually(dead_gave_up, timeout_s=10)
        await asyncio.sleep(0.3)  # room for a duplicate to show up, if there were one
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        runtime.engine.dispose()

    [message] = box.messages
    assert message["To"] == "kabid@dinsos.example"
    assert message["X-Dinsos-Event-Id"] == str(overdue.event_id)
    assert "StageOverdue" in message["Subject"]
    assert "Tahap Verifikasi terlambat (Tanggap darurat bencana)" in message.get_payload()
    assert statuses() == {
        mail_id: (NotificationStatus.SENT, 1),
        dead_id: (NotificationStatus.FAILED, 3),
    }


def test_the_live_feed_streams_announced_events_and_resumes_after_the_last_id(
    tmp_path: Path, standards: Standards
) -> None:
    clock = FixedClock(START)
    runtime = make_runtime(tmp_path, clock, 25)
    case = uuid.uuid4()
    runtime.apply_event(
        "notify:t", lambda uow, e: case_clocks.apply_event(uow, e, standards), report(case)
    )
    clock.set(START + 13 * HOUR)
    raised = runtime.run(lambda uow: alerting.tick(uow, standards))
    app = FastAPI()
    app.state.runtime, app.state.standards = runtime, standards
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(board_router)
    with TestClient(app) as client:
        everything = client.get("/feed?follow=false").text
        ids = [
            line.removeprefix("id: ") for line in everything.splitlines() if line.startswith("id: ")
        ]
        assert len(ids) == len(raised) >= 3  # two stages late and the 50% warning
        for event in raised:
            assert str(event.event_id) in everything
        rest = client.get("/feed?follow=false", headers={"Last-Event-ID": ids[0]}).text
        assert str(raised[0].event_id) not in rest and str(raised[1].event_id) in rest
        page = client.get(f"/cases/{case}?lang=en")
        assert page.status_code == 200 and "Reported" in page.text and "Lurah Melayu" in page.text
        assert client.get(f"/cases/{uuid.uuid4()}").status_code == 404
    runtime.engine.dispose()
