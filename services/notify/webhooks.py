"""Delivering notifications to webhook endpoints and e-mail addresses (SMTP): POST the
event JSON or mail it, retry with
exponential backoff, log every attempt in the notification table.

Each POST runs in its own task with a whole-request time limit, so an endpoint that hangs
or keeps failing delays only its own notifications. Receivers dedupe on `webhook-id` (the
event id, also in `X-Dinsos-Event-Id`): delivery is at least once (a crash between the
answer and its record resends after the lease).

Every POST is signed the Standard Webhooks way (https://www.standardwebhooks.com) with the
subscription's secret, goes only to a public address (`egress`), follows no redirect,
and only its status and duration are kept: the answer's body could be anything the
endpoint chose to show us, so it reaches neither the log nor `/notifications`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from uuid import UUID

import aiosmtplib
import httpx

from services.notify import subscribers
from services.notify.announcements import alert_summary
from services.notify.egress import guarded_client
from services.notify.settings import NotifySettings, notify_settings
from services.notify.subscribers import OutgoingWebhook
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

USER_AGENT = "dinsos-notify/0.1"


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to: an HTTP status if there was an answer, an error if it
    failed, and how long it took."""

    response_status: int | None
    error: str | None
    response_ms: int | None = None


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` value: `v1,` and the base64 HMAC-SHA256
    of `{id}.{timestamp}.{body}`, keyed with the base64 part of `whsec_...`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_headers(item: OutgoingWebhook, *, timestamp: int) -> dict[str, str]:
    """The headers of one POST: Standard Webhooks' three (signed when the subscription has
    a secret) and ours."""
    message_id = str(item.event_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "X-Dinsos-Event-Type": item.event_type,
        "X-Dinsos-Event-Id": message_id,
        "X-Dinsos-Delivery-Attempt": str(item.attempt),
    }
    if item.signing_secret is not None:
        headers["webhook-signature"] = signature(
            item.signing_secret, message_id=message_id, timestamp=timestamp, body=item.body
        )
    return headers


async def post_webhook(
    client: httpx.AsyncClient, item: OutgoingWebhook, *, timeout_s: float
) -> AttemptResult:
    """POST one notification; any 2xx is delivered, anything else (a redirect too) an
    error to retry. The answer's body is not read into the result."""
    # Real time, not the service clock: the receiver checks it against its own clock.
    headers = webhook_headers(item, timestamp=int(time.time()))
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        # httpx's timeout bounds each phase; this bounds the whole request, so an
        # endpoint that trickles its answer byte by byte cannot hold a slot forever.
        async with (
            asyncio.timeout(timeout_s),
            # Streamed and closed unread: an endpoint answering gigabytes costs nothing.
            client.stream("POST", item.url or "", content=item.body, headers=headers) as response,
        ):
            pass
    except TimeoutError:
        return AttemptResult(None, f"timed out after {timeout_s:g}s", elapsed_ms())
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return AttemptResult(None, error, elapsed_ms())
    took = elapsed_ms()
    if response.is_success:
        return AttemptResult(response.status_code, None, took)
    return AttemptResult(response.status_code, f"HTTP {response.status_code} after {took} ms", took)


def email_message(item: OutgoingWebhook, *, sender: str) -> EmailMessage:
    """The e-mail for one notification: a one-line summary and the event JSON. The
    Message-ID is the event's, so a mail client shows a resend as the same message."""
    payload = json.loads(item.body)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = item.email or ""
    message["Subject"] = (
        f"[Dinsos {payload.get('office_id', '')}] {item.event_type} "
        f"kasus {str(payload.get('case_id', ''))[:8]}"
    )
    message["Message-ID"] = f"<{item.event_id}.{item.notification_id}@dinsos-notify>"
    message["X-Dinsos-Event-Id"] = str(item.event_id)
    summary = alert_summary(payload) if "service_code" in payload else item.event_type
    message.set_content(f"{summary}\n\n{json.dumps(payload, indent=2)}\n")
    return message


def smtp_tls_context(settings: NotifySettings) -> ssl.SSLContext | None:
    """The TLS context for the SMTP server: certificates and host name always verified,
    against the office's CA bundle when one is configured. None when security is off."""
    if settings.smtp_security == "none":
        return None
    ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file is not None else None
    return ssl.create_default_context(cafile=ca_file)


def smtp_failure(exc: Exception, settings: NotifySettings) -> str:
    """Why an e-mail was not accepted, in words an office's IT person can act on."""
    server = f"{settings.smtp_host}:{settings.smtp_port_in_use()}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (
            f"SMTP login as {settings.smtp_username} refused by {server}: {exc.code} {exc.message}"
        )
    # aiosmtplib's words when STARTTLS is required and the server's EHLO lacks it.
    if "STARTTLS extension not supported" in str(exc):
        return (
            f"SMTP server {server} does not offer STARTTLS; nothing was sent in clear "
            "(NOTIFY_SMTP_SECURITY=starttls)"
        )
    if isinstance(exc, ssl.SSLError) or isinstance(exc.__cause__, ssl.SSLError):
        return f"SMTP TLS with {server} failed (certificate not trusted?): {exc}"
    return f"SMTP {type(exc).__name__} with {server}: {exc}"


async def send_email(item: OutgoingWebhook, settings: NotifySettings) -> AttemptResult:
    """Hand one notification to the SMTP server; any refusal or failure is retried."""
    message = email_message(item, sender=settings.smtp_sender)
    password = settings.smtp_password
    timeout_s = settings.smtp_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port_in_use(),
                username=settings.smtp_username,
                password=password.get_secret_value() if password is not None else None,
                use_tls=settings.smtp_security == "tls",
                # True: required (refused when not offered), never merely opportunistic.
                start_tls=settings.smtp_security == "starttls",
                tls_context=smtp_tls_context(settings),
                timeout=timeout_s,
            )
    except TimeoutError:
        return AttemptResult(None, f"SMTP timed out after {timeout_s:g}s")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return AttemptResult(None, smtp_failure(exc, settings))
    return AttemptResult(250, None)


async def deliver(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    item: OutgoingWebhook,
    settings: NotifySettings,
) -> None:
    """Send one notification on its channel and log the attempt."""
    if item.channel == "email":
        result = await send_email(item, settings)
    else:
        result = await post_webhook(client, item, timeout_s=settings.webhook_timeout_s)
    if result.error is not None:
        log.warning(
            "%s %s attempt %d failed: %s",
            item.channel,
            item.url or item.email,
            item.attempt,
            result.error,
        )
    await asyncio.to_thread(
        runtime.run,
        lambda uow: subscribers.record_delivery_attempt(
            uow,
            item.notification_id,
            response_status=result.response_status,
            error=result.error,
            max_attempts=settings.webhook_max_attempts,
            response_ms=result.response_ms,
            retry_base_s=settings.webhook_retry_base_s,
            retry_cap_s=settings.webhook_retry_cap_s,
        ),
    )


async def send_notifications(runtime: ServiceRuntime) -> None:
    """Send due notifications until cancelled, each POST in its own task."""
    settings = notify_settings(runtime)
    # A claimed notification is not claimed again before its lease runs out: the whole
    # request limit plus room to record the answer.
    lease = timedelta(seconds=max(settings.webhook_timeout_s, settings.smtp_timeout_s) + 30)
    in_flight: dict[UUID, asyncio.Task[None]] = {}

    def finished(notification_id: UUID, task: asyncio.Task[None]) -> None:
        in_flight.pop(notification_id, None)
        if not task.cancelled() and task.exception() is not None:
            # The POST happened but its record failed (database down): the lease expires
            # and the notification is sent again; the receiver dedupes on the event id.
            log.error("recording webhook attempt failed: %s", task.exception())

    client = guarded_client(allow_private_networks=settings.webhook_allow_private_networks)
    async with client:
        try:
            while True:
                room = settings.webhook_concurrency - len(in_flight)
                due: list[OutgoingWebhook] = []
                if room > 0:
                    claim = partial(
                        subscribers.claim_due_notifications,
                        limit=room,
                        lease=lease,
                        exclude=frozenset(in_flight),
                    )
                    try:
                        due = await asyncio.to_thread(runtime.run, claim)
                    except Exception:  # the sender must outlive a database hiccup
                        log.exception("claiming notifications failed; retrying")
                for item in due:
                    task = asyncio.create_task(
                        deliver(client, runtime, item, settings),
                        name=f"webhook-{item.notification_id}",
                    )
                    in_flight[item.notification_id] = task
                    task.add_done_callback(partial(finished, item.notification_id))
                await asyncio.sleep(settings.webhook_poll_interval_s)
        finally:
            tasks = list(in_flight.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
