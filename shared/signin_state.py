"""What the built-in identity provider remembers between requests, in its own process:
failed sign-ins (rate limit and lock-out) and sessions (rotating refresh tokens and
revoked access tokens). Every method takes the time as an argument, so the rules are
tested without waiting.

One process per service today; docs/architecture.md ("Sign-in") says what running
several replicas of a service needs.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Above this many tracked keys, stale ones are swept (spraying unknown names must not
# grow memory without bound).
_SWEEP_ABOVE = 10_000
# How soon after a rotation the token it replaced may come back without ending the session.
RACE_GRACE = timedelta(seconds=10)


@dataclass
class _Failures:
    at: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class SignInThrottle:
    """Counts failed sign-ins per key (a user name, or a trusted device) and per client
    address; `max_failures` within `window` locks that key out for `lockout`."""

    def __init__(
        self,
        *,
        max_user_failures: int,
        max_address_failures: int,
        window: timedelta,
        lockout: timedelta,
    ) -> None:
        self._limits = {"key": max_user_failures, "address": max_address_failures}
        self._window = window
        self._lockout = lockout
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def retry_after(self, *, key: str, address: str, now: datetime) -> int | None:
        """Seconds until `key` from `address` may try again; None: it may now."""
        with self._lock:
            waits = [
                self._locked_for((kind, value), now)
                for kind, value in (("key", key), ("address", address))
            ]
        remaining = [wait for wait in waits if wait is not None]
        return max(remaining) if remaining else None

    def failed(self, *, key: str, address: str, now: datetime) -> bool:
        """Record a failed sign-in; True when it has just locked the key or the address."""
        with self._lock:
            if len(self._failures) > _SWEEP_ABOVE:
                self._sweep(now)
            locked = False
            for kind, value in (("key", key), ("address", address)):
                record = self._failures.setdefault((kind, value), _Failures())
                self._forget_before(record, now - self._window)
                record.at.append(now)
                if len(record.at) >= self._limits[kind]:
                    record.locked_until = now + self._lockout
                    record.at.clear()
                    locked = True
            return locked

    def succeeded(self, *, key: str) -> None:
        """A correct password clears the key's failures (not the address's: a sprayer who
        knows one password must not reset the count of its other guesses)."""
        with self._lock:
            self._failures.pop(("key", key), None)

    def _locked_for(self, slot: tuple[str, str], now: datetime) -> int | None:
        record = self._failures.get(slot)
        if record is None or record.locked_until is None or record.locked_until <= now:
            return None
        return max(1, math.ceil((record.locked_until - now).total_seconds()))

    @staticmethod
    def _forget_before(record: _Failures, cutoff: datetime) -> None:
        while record.at and record.at[0] < cutoff:
            record.at.popleft()

    def _sweep(self, now: datetime) -> None:
        cutoff = now - self._window
        for slot in list(self._failures):
            record = self._failures[slot]
            self._forget_before(record, cutoff)
            if not record.at and (record.locked_until is None or record.locked_until <= now):
                del self._failures[slot]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class _Session:
    subject: str
    password_stamp: str
    ends_at: datetime
    current: str  # digest of the one refresh token that may be used next
    used: set[str] = field(default_factory=set)
    previous: str | None = None  # the token `current` replaced, and when
    rotated_at: datetime | None = None


@dataclass(frozen=True)
class Rotated:
    """A refresh token accepted: the session's subject and the token to use next time."""

    session_id: str
    subject: str
    password_stamp: str
    refresh_token: str
    ends_at: datetime


@dataclass(frozen=True)
class Refused:
    """A refresh token refused: `refresh_invalid` (unknown, ended or expired session) or
    `refresh_reused` (a used token came back: the whole session is ended)."""

    code: str
    detail: str


class SessionRegistry:
    """Sessions of one identity provider: each has one valid refresh token at a time (used
    once, then replaced); a used one coming back ends the session (someone has a copy).
    Also the access tokens and sessions signed out here, kept until they would expire."""

    def __init__(self, *, access_life: timedelta) -> None:
        self._access_life = access_life
        self._sessions: dict[str, _Session] = {}
        self._ended: dict[str, datetime] = {}  # session id -> when its last token expires
        self._revoked: dict[str, datetime] = {}  # access token id -> its expiry
        self._lock = threading.Lock()

    def start(
        self, *, subject: str, password_stamp: str, ends_at: datetime, now: datetime
    ) -> Rotated:
        """A new session after a sign-in, with its first refresh token."""
        session_id = secrets.token_urlsafe(16)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._sweep(now)
            self._sessions[session_id] = _Session(subject, password_stamp, ends_at, _digest(secret))
        return Rotated(session_id, subject, password_stamp, f"{session_id}.{secret}", ends_at)

    def rotate(self, refresh_token: str, *, now: datetime) -> Rotated | Refused:
        """Use `refresh_token` once: the next one, or why it is refused."""
        session_id, _, secret = refresh_token.partition(".")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not secret:
                return Refused("refresh_invalid", "this session has ended; sign in again")
            if session.ends_at <= now:
                self._end(session_id, now)
                return Refused("refresh_invalid", "this session has expired; sign in again")
            offered = _digest(secret)
            if self._raced(session, offered, now):
                return Refused(
                    "refresh_superseded",
                    "another tab renewed this session a moment ago; its new cookie holds",
                )
            if offered in session.used:
                self._end(session_id, now)
                return Refused(
                    "refresh_reused",
                    "this refresh token was already used, so a copy of it exists: the "
                    "session is ended; sign in again",
                )
            if not hmac.compare_digest(offered, session.current):
                return Refused("refresh_invalid", "this refresh token is not valid; sign in again")
            session.used.add(offered)
            following = secrets.token_urlsafe(32)
            session.previous, session.rotated_at = offered, now
            session.current = _digest(following)
            return Rotated(
                session_id,
                session.subject,
                session.password_stamp,
                f"{session_id}.{following}",
                session.ends_at,
            )

    @staticmethod
    def _raced(session: _Session, offered: str, now: datetime) -> bool:
        """Two tabs of one browser renewing at once both send the same cookie: the second
        is refused, not taken for a stolen copy. It gets no tokens, so a thief gains
        nothing from the grace either."""
        return (
            session.previous == offered
            and session.rotated_at is not None
            and now - session.rotated_at <= RACE_GRACE
        )

    def end_by_refresh(self, refresh_token: str, *, now: datetime) -> bool:
        """Sign-out with only a refresh token (a cookie, or an API client's copy): it must
        be the session's current or a used one, so a session id alone ends nothing."""
        session_id, _, secret = refresh_token.partition(".")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not secret:
                return False
            offered = _digest(secret)
            if offered not in session.used and not hmac.compare_digest(offered, session.current):
                return False
            self._end(session_id, now)
        return True

    def end(self, session_id: str, *, now: datetime) -> None:
        """Sign-out: no refresh token of the session works, nor any access token of it
        that this process sees."""
        with self._lock:
            self._end(session_id, now)

    def revoke_access(self, token_id: str, *, expires_at: datetime, now: datetime) -> None:
        """Refuse one access token from now until it would have expired anyway."""
        with self._lock:
            self._sweep(now)
            self._revoked[token_id] = expires_at

    def refuses(self, *, token_id: str | None, session_id: str | None, now: datetime) -> bool:
        """Whether an access token with these ids was signed out here."""
        with self._lock:
            for signed_out, key in ((self._revoked, token_id), (self._ended, session_id)):
                if key is not None and signed_out.get(key, now) > now:
                    return True
        return False

    def _end(self, session_id: str, now: datetime) -> None:
        self._sessions.pop(session_id, None)
        self._ended[session_id] = now + self._access_life

    def _sweep(self, now: datetime) -> None:
        for session_id in [sid for sid, s in self._sessions.items() if s.ends_at <= now]:
            self._end(session_id, now)
        for ids in (self._ended, self._revoked):
            for key in [key for key, until in ids.items() if until <= now]:
                del ids[key]
