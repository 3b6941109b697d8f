"""E-mail as an office's provider or own relay takes it: STARTTLS with a certificate of
the office's own CA, a required login, and what happens when either goes wrong (a wrong
password is recorded and retried, a server without STARTTLS gets nothing). Against a
real local SMTP server (aiosmtpd) on loopback; the handlers' database on SQLite only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.notify import alerting, case_clocks, subscribers
from services.notify.app import create_app
from services.notify.domain import NotificationStatus
from services.notify.models import NotificationOut, SubscriptionIn
from services.notify.settings import NotifySettings
from services.notify.standards import Standards, load_standards
from services.notify.webhooks import send_notifications
from shared.auth import AuthSettings
from shared.clock import FixedClock
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.notify.test_channels import (
    HOUR,
    START,
    Mailbox,
    free_port,
    make_runtime,
    report,
)
from tests.support.kafka import eventually
from tests.support.smtp_relay import (
    RELAY_PASSWORD,
    RELAY_USER,
    Certificates,
    office_login,
    office_relay_certificates,
)
from tests.test_operations import samples

USER, PASSWORD = RELAY_USER, RELAY_PASSWORD


@pytest.fixture(scope="module")
def standards() -> Standards:
    return load_standards()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return office_relay_certificates(tmp_path_factory.mktemp("smtp-tls"))


class RelayMailbox(Mailbox):
    """A mailbox that also notes, for each message, whether it came over TLS and from
    whom it was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, str | None]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        # What office_login put in AuthResult.auth_data: the account that logged in.
        login = session.auth_data if session.authenticated else None
        user = login.decode() if isinstance(login, bytes) else None
        over_tls = server.transport is not None and server.transport.get_extra_info("ssl_object")
        self.sessions.append((bool(over_tls), user))
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def running_relay(**options: Any) -> Iterator[tuple[RelayMailbox, int]]:
    """A local SMTP server on a free port that wants the office's login before any mail."""
    box, port = RelayMailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        authenticator=office_login,
        **options,
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def relay(certificates: Certificates) -> Iterator[tuple[RelayMailbox, int]]:
    """A submission server as a provider runs one: STARTTLS with the office CA's
    certificate before anything else, then a login before any mail."""
    with running_relay(tls_context=certificates.server_context, require_starttls=True) as served:
        yield served


@pytest.fixture
def clear_text_server() -> Iterator[tuple[RelayMailbox, int]]:
    """A server that offers no STARTTLS and takes any mail, login or not."""
    box, port = RelayMailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *_: AuthResult(success=True),
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def mail_one_warning(
    runtime: ServiceRuntime, clock: FixedClock, standards: Standards
) -> Callable[[], NotificationOut]:
    """Subscribe an address, let a case run late so one warning is due for it, and
    return how to read that notification's row."""
    subscription = SubscriptionIn.model_validate(
        {"channel": "email", "email": "kabid@dinsos.example", "event_types": ["StageOverdue"]}
    )
    runtime.run(lambda uow: subscribers.create_subscription(uow, subscription))
    case = uuid.uuid4()
    runtime.apply_event(
        "notify:t", lambda uow, e: case_clocks.apply_event(uow, e, standards), report(case)
    )
    clock.set(START + 5 * HOUR)
    runtime.run(lambda uow: alerting.tick(uow, standards))

    def notification() -> NotificationOut:
        [row] = runtime.run(lambda uow: subscribers.list_notifications(
            uow, status=None, case_id=case, subscription_id=None, after=None, limit=10
        )).items  # fmt: skip
        return NotificationOut.model_validate(row, from_attributes=True)

    return notification


def logging_in(
    tmp_path: Path,
    clock: FixedClock,
    port: int,
    security: str,
    *,
    ca_file: Path | None = None,
    password: str = PASSWORD,
) -> ServiceRuntime:
    """notify mailing through the relay on `port` as the office's account."""
    extra: dict[str, object] = {"smtp_ca_file": ca_file} if ca_file is not None else {}
    return make_runtime(
        tmp_path,
        clock,
        port,
        smtp_security=security,
        smtp_username=USER,
        smtp_password=password,
        **extra,
    )


async def sending_until(runtime: ServiceRuntime, done: Callable[[], object]) -> None:
    """Run notify's sender until `done()` is truthy."""
    sender = asyncio.create_task(send_notifications(runtime))
    try:
        await eventually(done, timeout_s=10)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def test_a_warning_is_mailed_over_starttls_after_login_to_a_relay_of_the_offices_ca(
    tmp_path: Path,
    standards: Standards,
    relay: tuple[RelayMailbox, int],
    certificates: Certificates,
) -> None:
    box, port = relay
    clock = FixedClock(START)
    runtime = logging_in(tmp_path, clock, port, "starttls", ca_file=certificates.ca_file)
    notification = mail_one_warning(runtime, clock, standards)
    try:
        await sending_until(runtime, lambda: notification().status is NotificationStatus.SENT)
    finally:
        runtime.engine.dispose()
    [message] = box.messages
    assert message["To"] == "kabid@dinsos.example"
    assert box.sessions == [(True, USER)]


@pytest.fixture
def implicit_tls_relay(certificates: Certificates) -> Iterator[tuple[RelayMailbox, int]]:
    """A submissions server (TLS from the first byte, as on port 465) with a login."""
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS throughout.
    with running_relay(ssl_context=certificates.server_context, auth_require_tls=False) as served:
        yield served


# aiosmtpd warns of AUTH without STARTTLS; here the whole connection is TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_a_warning_is_mailed_over_implicit_tls_after_login(
    tmp_path: Path,
    standards: Standards,
    implicit_tls_relay: tuple[RelayMailbox, int],
    certificates: Certificates,
) -> None:
    box, port = implicit_tls_relay
    clock = FixedClock(START)
    runtime = logging_in(tmp_path, clock, port, "tls", ca_file=certificates.ca_file)
    notification = mail_one_warning(runtime, clock, standards)
    try:
        await sending_until(runtime, lambda: notification().status is NotificationStatus.SENT)
    finally:
        runtime.engine.dispose()
    assert len(box.messages) == 1
    assert box.sessions == [(True, USER)]


async def test_a_wrong_smtp_password_is_recorded_with_its_reason_and_retried_until_it_fails(
    tmp_path: Path,
    standards: Standards,
    relay: tuple[RelayMailbox, int],
    certificates: Certificates,
) -> None:
    box, port = relay
    clock = FixedClock(START)
    runtime = logging_in(
        tmp_path, clock, port, "starttls", ca_file=certificates.ca_file, password="not-the-password"
    )
    notification = mail_one_warning(runtime, clock, standards)
    try:
        await sending_until(runtime, lambda: notification().attempts >= 1)
        first = notification()
        assert first.status is NotificationStatus.PENDING and first.next_attempt_at is not None

        def gave_up() -> bool:
            clock.advance(timedelta(seconds=1))  # past each backoff, on the service clock
            return notification().status is NotificationStatus.FAILED

        await sending_until(runtime, gave_up)
    finally:
        runtime.engine.dispose()
    failed = notification()
    assert failed.attempts == 3  # make_runtime's webhook_max_attempts
    assert failed.last_error is not None
    assert f"SMTP login as {USER} refused by 127.0.0.1:{port}: 535" in failed.last_error
    assert "not-the-password" not in failed.last_error
    assert box.messages == []


async def test_a_server_without_starttls_gets_nothing_when_starttls_is_required(
    tmp_path: Path, standards: Standards, clear_text_server: tuple[RelayMailbox, int]
) -> None:
    box, port = clear_text_server
    clock = FixedClock(START)
    runtime = logging_in(tmp_path, clock, port, "starttls")
    notification = mail_one_warning(runtime, clock, standards)
    try:
        await sending_until(runtime, lambda: notification().attempts >= 1)
    finally:
        runtime.engine.dispose()
    assert box.messages == [] and box.sessions == []
    assert "does not offer STARTTLS; nothing was sent in clear" in (notification().last_error or "")


async def test_a_relay_certificate_from_a_ca_not_configured_is_refused(
    tmp_path: Path, standards: Standards, relay: tuple[RelayMailbox, int]
) -> None:
    box, port = relay
    clock = FixedClock(START)
    # No NOTIFY_SMTP_CA_FILE: the system's CAs, which never signed the office's relay.
    runtime = logging_in(tmp_path, clock, port, "starttls")
    notification = mail_one_warning(runtime, clock, standards)
    try:
        await sending_until(runtime, lambda: notification().attempts >= 1)
    finally:
        runtime.engine.dispose()
    assert box.messages == []
    assert "certificate" in (notification().last_error or "")


async def test_mail_the_server_keeps_refusing_shows_on_notifys_metrics_pending_then_failed(
    tmp_path: Path,
    standards: Standards,
    relay: tuple[RelayMailbox, int],
    certificates: Certificates,
) -> None:
    _, port = relay
    clock = FixedClock(START)
    settings = NotifySettings(
        database_url=f"sqlite:///{tmp_path / 'notify.sqlite3'}",
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=False),
        smtp_port=port,
        smtp_username=USER,
        smtp_password="not-the-password",
        smtp_ca_file=certificates.ca_file,
        webhook_max_attempts=1,
        webhook_poll_interval_s=0.05,
    )
    app = create_app(settings, clock=clock)
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    notification = mail_one_warning(runtime, clock, standards)
    scrape = TestClient(app)

    def gauges() -> tuple[float, float]:
        found = samples(scrape.get("/metrics").text)
        return (
            found[("dinsos_notifications_pending", frozenset())],
            found[("dinsos_notifications_failed", frozenset())],
        )

    try:
        assert gauges() == (1, 0)
        await sending_until(runtime, lambda: notification().status is NotificationStatus.FAILED)
        assert gauges() == (0, 1)
    finally:
        runtime.engine.dispose()


def smtp_settings(**values: Any) -> NotifySettings:
    environment = values.pop("environment", "test")
    return NotifySettings(common=CommonSettings(environment=environment), **values)


def test_the_smtp_port_follows_the_security_mode_unless_set() -> None:
    assert smtp_settings().smtp_port_in_use() == 587
    assert smtp_settings(smtp_security="tls").smtp_port_in_use() == 465
    assert smtp_settings(smtp_security="none").smtp_port_in_use() == 25
    assert smtp_settings(smtp_security="tls", smtp_port=2465).smtp_port_in_use() == 2465


def test_a_login_over_an_unprotected_connection_to_another_host_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"password in clear to smtp\.example\.com"):
        smtp_settings(
            smtp_host="smtp.example.com",
            smtp_security="none",
            smtp_username=USER,
            smtp_password=PASSWORD,
        )


def test_production_refuses_unprotected_smtp_except_to_a_relay_on_this_machine() -> None:
    with pytest.raises(ValidationError, match="relay on this machine only"):
        smtp_settings(smtp_host="mail.office.lan", smtp_security="none", environment="production")
    local = smtp_settings(smtp_host="127.0.0.1", smtp_security="none", environment="test")
    assert local.smtp_security == "none"


def test_an_smtp_username_without_a_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="set together or not at all"):
        smtp_settings(smtp_username=USER)


def test_an_smtp_ca_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a readable file"):
        smtp_settings(smtp_ca_file=tmp_path / "missing.pem")


def test_empty_smtp_settings_from_compose_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "USERNAME", "PASSWORD", "CA_FILE"):
        monkeypatch.setenv(f"NOTIFY_SMTP_{name}", "")
    settings = NotifySettings(common=CommonSettings(environment="test"))
    assert (settings.smtp_username, settings.smtp_password, settings.smtp_ca_file) == (None,) * 3
    assert settings.smtp_port_in_use() == 587
