"""Webhooks reach public addresses only (at subscription and again at delivery, after DNS),
follow no redirect, keep the endpoint's answer out of the log, and are signed the Standard
Webhooks way. No test sends traffic beyond loopback: the receivers listen on 127.0.0.1,
and the tests that deliver to them switch the private-network guard off on purpose."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify import subscribers
from services.notify.app import create_app
from services.notify.domain import NotificationStatus
from services.notify.egress import (
    AddressRefused,
    check_resolved_addresses,
    check_webhook_host,
    refusal_reason,
)
from services.notify.models import NotificationRow, NotifyTable, SubscriptionIn
from services.notify.settings import NotifySettings
from services.notify.webhooks import send_notifications, signature
from shared.auth import AuthSettings
from shared.clock import FixedClock
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork
from tests.support.kafka import eventually
from tests.support.webhook import ReceivedRequest, webhook_receiver

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)

INTERNAL_ADDRESSES = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.10",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "239.1.2.3",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]


@pytest.mark.parametrize("text", INTERNAL_ADDRESSES)
def test_internal_addresses_are_refused(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", ["93.184.215.14", "36.86.63.182", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text)) is None


@pytest.mark.parametrize(
    "host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:7f00:1]", "localhost."]
)
def test_old_and_odd_spellings_of_loopback_are_refused(host: str) -> None:
    with pytest.raises(AddressRefused):
        check_webhook_host(host)


def settings(tmp_path: Path, **extra: bool | float | int) -> NotifySettings:
    return NotifySettings(
        database_url=f"sqlite:///{tmp_path / 'notify.sqlite3'}",
        common=CommonSettings(environment="test"),
        auth=AuthSettings(required=False),
        webhook_timeout_s=2.0,
        webhook_poll_interval_s=0.05,
        webhook_max_attempts=1,
        **extra,  # type: ignore[arg-type]  # the keyword fields of NotifySettings
    )


@pytest.fixture
def api(tmp_path: Path) -> TestClient:
    app = create_app(settings(tmp_path), clock=FixedClock(NOW))
    app.state.runtime.create_tables()
    return TestClient(app)  # no lifespan: subscribing needs no broker


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8004/health",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://[::1]:5432/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:9092/",
        "http://localhost:8001/",
        "http://kafka.localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://239.1.2.3/",
    ],
)
def test_a_subscription_to_an_internal_address_is_refused(api: TestClient, url: str) -> None:
    answer = api.post("/subscriptions", json={"url": url, "event_types": ["StageOverdue"]})
    assert (answer.status_code, answer.json()["error"]) == (422, "webhook_address_refused")
    assert api.get("/subscriptions").json() == []


def test_a_webhook_gets_a_secret_shown_only_when_it_is_made(api: TestClient) -> None:
    hook = {"url": "https://posko.example.org/hook", "event_types": ["StageOverdue"]}
    created = api.post("/subscriptions", json=hook)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert secret not in api.get("/subscriptions").text

    renewed = api.post(f"/subscriptions/{created.json()['id']}/secret")
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["secret"].startswith("whsec_")
    assert renewed.json()["secret"] != secret

    mail = {
        "channel": "email",
        "email": "kabid@dinsos.example.go.id",
        "event_types": ["StageOverdue"],
    }
    by_mail = api.post("/subscriptions", json=mail).json()
    assert by_mail["secret"] is None
    refused = api.post(f"/subscriptions/{by_mail['id']}/secret")
    assert (refused.status_code, refused.json()["error"]) == (409, "not_a_webhook")


def test_production_refuses_private_network_webhooks() -> None:
    with pytest.raises(ValidationError, match="NOTIFY_WEBHOOK_ALLOW_PRIVATE_NETWORKS"):
        NotifySettings(
            common=CommonSettings(environment="production"),
            webhook_allow_private_networks=True,
        )


def test_the_signature_is_the_one_the_spec_gives() -> None:
    # The example of the Standard Webhooks specification (its reference libraries' tests).
    assert (
        signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


# --- delivery -----------------------------------------------------------------------


def notify_runtime(tmp_path: Path, *, allow_private_networks: bool) -> ServiceRuntime:
    runtime = ServiceRuntime(
        name="notify",
        settings=settings(tmp_path, webhook_allow_private_networks=allow_private_networks),
        metadata=NotifyTable.metadata,
        clock=FixedClock(NOW),
    )
    runtime.create_tables()
    return runtime


def queue(runtime: ServiceRuntime, url: str) -> tuple[uuid.UUID, str]:
    """A subscription to `url` (made through the use case, past the API's address check,
    as one whose name resolved to a public address when it was made) with one
    notification due now; its id and the subscription's secret."""
    body = SubscriptionIn.model_validate({"url": url, "event_types": ["StageOverdue"]})

    def work(uow: UnitOfWork) -> tuple[uuid.UUID, str]:
        subscription = subscribers.create_subscription(uow, body)
        uow.session.flush()  # no ORM relationship orders the two inserts
        notification = NotificationRow(
            subscription_id=subscription.id,
            event_id=uuid.uuid4(),
            event_type="StageOverdue",
            case_id=uuid.uuid4(),
            payload={"event_type": "StageOverdue", "office_id": "kukar"},
            next_attempt_at=uow.now(),
            created_at=uow.now(),
        )
        uow.session.add(notification)
        assert subscription.signing_secret is not None
        return notification.id, subscription.signing_secret

    return runtime.run(work)


async def attempted_once(runtime: ServiceRuntime, notification_id: uuid.UUID) -> NotificationRow:
    """Run the sender until the notification's one attempt is recorded."""

    def attempted(uow: UnitOfWork) -> NotificationRow | None:
        row = uow.session.get(NotificationRow, notification_id)
        return row if row is not None and row.attempts == 1 else None

    sender = asyncio.create_task(send_notifications(runtime))
    try:
        return await eventually(lambda: runtime.run(attempted), timeout_s=10)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(tmp_path: Path) -> None:
    runtime = notify_runtime(tmp_path, allow_private_networks=False)
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        notification, _ = queue(runtime, f"http://localhost:{port}/hooks/dinsos")
        row = await attempted_once(runtime, notification)
        assert receiver.started == 0, "nothing reached the loopback receiver"
    runtime.engine.dispose()
    assert row.status is NotificationStatus.FAILED
    assert row.last_error is not None
    assert "resolves to a loopback address" in row.last_error


async def test_a_delivery_is_signed_so_the_receiver_can_verify_it(tmp_path: Path) -> None:
    runtime = notify_runtime(tmp_path, allow_private_networks=True)
    with webhook_receiver() as receiver:
        notification, secret = queue(runtime, receiver.url)
        row = await attempted_once(runtime, notification)
        [received] = receiver.delivered()
    runtime.engine.dispose()
    assert row.status is NotificationStatus.SENT
    assert Webhook(secret).verify(received.body, received.headers) == received.json()
    assert received.headers["webhook-id"] == received.headers["x-dinsos-event-id"]
    tampered = ReceivedRequest(
        path=received.path,
        headers=received.headers,
        body=received.body.replace(b"kukar", b"balangan"),
        answered=received.answered,
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered.body, tampered.headers)


async def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    runtime = notify_runtime(tmp_path, allow_private_networks=True)
    with (
        webhook_receiver() as elsewhere,
        webhook_receiver(
            fail_first=1, failure_status=307, failure_headers={"Location": elsewhere.url}
        ) as redirecting,
    ):
        notification, _ = queue(runtime, redirecting.url)
        row = await attempted_once(runtime, notification)
        assert [r.answered for r in redirecting.requests] == [307]
        assert elsewhere.started == 0
    runtime.engine.dispose()
    assert (row.status, row.response_status) == (NotificationStatus.FAILED, 307)


async def test_the_answer_body_reaches_neither_the_log_nor_the_notification(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = notify_runtime(tmp_path, allow_private_networks=True)
    leak = b"root:x:0:0:root:/root:/bin/bash internal-only"
    with webhook_receiver(fail_first=1, failure_body=leak) as receiver:
        notification, _ = queue(runtime, receiver.url)
        with caplog.at_level(logging.DEBUG):
            row = await attempted_once(runtime, notification)
    runtime.engine.dispose()
    assert row.response_status == 500
    assert row.last_error is not None
    assert re.fullmatch(r"HTTP 500 after \d+ ms", row.last_error), row.last_error
    assert row.response_ms is not None
    assert "internal-only" not in caplog.text


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(AddressRefused, match="resolves to a link-local address"):
        check_resolved_addresses("rebind.example", ["93.184.215.14", "169.254.169.254"])
    assert check_resolved_addresses("ok.example", ["93.184.215.14", "2606:4700::1111"]) == [
        "93.184.215.14",
        "2606:4700::1111",
    ]
