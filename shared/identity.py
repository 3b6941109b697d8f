"""The built-in identity provider every service serves: sign-in (`POST /auth/token` for
API clients and phones, `GET /login` + `POST /auth/login` for the screens), silent
refresh (`POST /auth/refresh`), sign-out (`POST /auth/logout`) and the screens' small
client script (`GET /auth/session.js`).

Users come from a TOML file with scrypt hashes (`DINSOS_AUTH_USERS_FILE`), read at each
sign-in and refresh, so an edit takes effect without a restart. Access tokens live
minutes; a session (one sign-in) lives a shift through rotating, one-time refresh tokens.
Failed sign-ins are limited per user and per client address. docs/architecture.md
("Sign-in") states the guarantees.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import Response

from shared.auth import TOKEN_COOKIE, AuthSettings, Principal, Role, issue_token
from shared.passwords import check_password, hash_password, needs_rehash, password_matches
from shared.signin_state import Refused, Rotated, SessionRegistry, SignInThrottle
from shared.userfile import UsersFileError, replace_password_hash

log = logging.getLogger(__name__)

DEVICE_COOKIE = "dinsos_device"
REFRESH_COOKIE_PREFIX = "dinsos_refresh_"
DEVICE_LIFE = timedelta(days=180)
SESSION_SCRIPT = Path(__file__).with_name("static") / "session.js"


@dataclass(frozen=True)
class UserRecord:
    """One user of the built-in identity provider."""

    principal: Principal
    password_hash: str


def load_users(path: Path) -> dict[str, UserRecord]:
    """Users from a TOML file of `[[user]]` tables; a bad entry stops start-up."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    users: dict[str, UserRecord] = {}
    for entry in document.get("user", []):
        try:
            principal = Principal(
                subject=entry["username"],
                name=entry.get("name", entry["username"]),
                office_id=entry["office_id"],
                roles=frozenset(Role(r) for r in entry["roles"]),
            )
            users[principal.subject] = UserRecord(principal, entry["password_scrypt"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}: bad user entry {entry.get('username')!r}: {exc}") from exc
    return users


def password_stamp(password_hash: str) -> str:
    """What a session remembers of the password it began with: a new password (not a
    rehash of the same one, see `_rehashed`) ends the session at its next refresh."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Locked:
    """Sign-in refused without looking at the password: too many recent failures."""

    retry_after: int


@dataclass(frozen=True)
class Granted:
    """A correct password: the user, and the device id to trust from now on."""

    record: UserRecord
    device_id: str


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh hands out."""

    access_token: str
    session: Rotated


class IdentityProvider:
    """Sign-in, refresh and sign-out for one service process; holds its throttle and
    sessions (in memory: see the module's docstring)."""

    def __init__(self, settings: AuthSettings, *, service: str) -> None:
        self.settings = settings
        # Cookies are per host, not per port: each service's sessions get their own name.
        self.refresh_cookie = f"{REFRESH_COOKIE_PREFIX}{service}"
        self.access_life = timedelta(minutes=settings.token_minutes)
        self.throttle = SignInThrottle(
            max_user_failures=settings.max_failures_per_user,
            max_address_failures=settings.max_failures_per_address,
            window=timedelta(minutes=settings.failure_window_minutes),
            lockout=timedelta(minutes=settings.lockout_minutes),
        )
        self.sessions = SessionRegistry(access_life=self.access_life)

    def users(self) -> dict[str, UserRecord]:
        """The users file as it is now (none configured: nobody can sign in)."""
        return load_users(self.settings.users_file) if self.settings.users_file else {}

    # --- sign-in ---------------------------------------------------------------------

    def sign_in(
        self, request: Request, username: str, password: str, now: datetime
    ) -> Granted | Locked | None:
        """Check a user name and password under the rate limit; None: refused."""
        address = request.client.host if request.client else "unknown"
        device = self._trusted_device(request, username)
        # A device that has signed in as this user before is counted on its own, so an
        # attacker's failures elsewhere cannot lock the user out of their own phone.
        key = f"device:{device}:{username}" if device else f"user:{username}"
        wait = self.throttle.retry_after(key=key, address=address, now=now)
        if wait is not None:
            return Locked(wait)
        record = self.users().get(username)
        stored = record.password_hash if record is not None else None
        matches = check_password(password, stored, n=self.settings.scrypt_n)  # runs for anyone
        if record is None or not matches:
            if self.throttle.failed(key=key, address=address, now=now):
                log.warning("sign-in locked for %r from %s after failed attempts", key, address)
            return None
        self.throttle.succeeded(key=key)
        record = self._rehashed(record, password)
        return Granted(record, device or secrets.token_urlsafe(12))

    def _rehashed(self, record: UserRecord, password: str) -> UserRecord:
        """Bring a hash made at a lower cost up to the current one (the password is known
        only now). The file is left alone when it cannot be written (a read-only mount):
        sign-in goes on, and the log says why."""
        path, old = self.settings.users_file, record.password_hash
        if path is None or not needs_rehash(old, self.settings.scrypt_n):
            return record
        new = hash_password(password, n=self.settings.scrypt_n)
        try:
            if replace_password_hash(path, record.principal.subject, old=old, new=new):
                return UserRecord(record.principal, new)
        except (OSError, UsersFileError) as exc:
            log.warning("could not rehash %r in %s: %s", record.principal.subject, path, exc)
            return record
        # Another process rehashed (or an administrator reset) it meanwhile: the session
        # begins with whatever the file holds now if the password still opens it.
        current = self.users().get(record.principal.subject)
        if current is not None and password_matches(password, current.password_hash):
            return current
        return record

    def start_session(self, record: UserRecord, now: datetime) -> Tokens:
        """A new session for a signed-in user: an access token and a refresh token."""
        session = self.sessions.start(
            subject=record.principal.subject,
            password_stamp=password_stamp(record.password_hash),
            ends_at=now + timedelta(hours=self.settings.session_hours),
            now=now,
        )
        access = issue_token(record.principal, self.settings, now, session_id=session.session_id)
        return Tokens(access, session)

    def refresh(self, refresh_token: str, now: datetime) -> Tokens | Refused:
        """Use a refresh token once: new tokens for the user as the users file now has
        them (roles, office), or why not. A removed user or a new password ends the
        session."""
        outcome = self.sessions.rotate(refresh_token, now=now)
        if isinstance(outcome, Refused):
            return outcome
        record = self.users().get(outcome.subject)
        if record is None or password_stamp(record.password_hash) != outcome.password_stamp:
            self.sessions.end(outcome.session_id, now=now)
            return Refused(
                "refresh_invalid", "the account or its password has changed; sign in again"
            )
        access = issue_token(record.principal, self.settings, now, session_id=outcome.session_id)
        return Tokens(access, outcome)

    def sign_out(self, access_token: str | None, refresh_token: str | None, now: datetime) -> None:
        """End the session these tokens belong to and refuse the access token here until
        it would have expired; tokens that are not valid are ignored."""
        claims = self._claims(access_token, self.settings.audience) if access_token else None
        if claims is not None:
            if isinstance(claims.get("jti"), str):
                expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
                self.sessions.revoke_access(claims["jti"], expires_at=expires, now=now)
            if isinstance(claims.get("sid"), str):
                self.sessions.end(claims["sid"], now=now)
        if refresh_token:
            self.sessions.end_by_refresh(refresh_token, now=now)

    # --- cookies and answers ----------------------------------------------------------

    def cookie_options(self, path: str = "/") -> dict[str, Any]:
        """HttpOnly, SameSite=Strict, and Secure in production."""
        return {
            "path": path,
            "httponly": True,
            "samesite": "strict",
            "secure": self.settings.environment == "production",
        }

    def set_cookies(self, response: Response, tokens: Tokens, now: datetime) -> None:
        """The screens' tokens: the access token for every request, the refresh token
        only for `/auth/refresh` and `/auth/logout`."""
        response.set_cookie(
            TOKEN_COOKIE,
            tokens.access_token,
            max_age=self.settings.token_minutes * 60,
            **self.cookie_options(),
        )
        response.set_cookie(
            self.refresh_cookie,
            tokens.session.refresh_token,
            max_age=max(1, int((tokens.session.ends_at - now).total_seconds())),
            **self.cookie_options("/auth"),
        )

    def set_device_cookie(
        self, response: Response, username: str, device_id: str, now: datetime
    ) -> None:
        """Trust this browser for `username`'s failed-attempt count (see `sign_in`)."""
        response.set_cookie(
            DEVICE_COOKIE,
            self.device_cookie(username, device_id, now),
            max_age=int(DEVICE_LIFE.total_seconds()),
            **self.cookie_options("/auth"),
        )

    def clear_cookies(
        self, response: Response, *, refresh: bool = True, others_sent: Iterable[str] = ()
    ) -> None:
        """Forget the access cookie, this service's refresh cookie, and those of other
        services among `others_sent` (at sign-out: a shared phone is signed out of every
        screen, though only those services can end their sessions)."""
        response.delete_cookie(TOKEN_COOKIE, **self.cookie_options())
        if refresh:
            response.delete_cookie(self.refresh_cookie, **self.cookie_options("/auth"))
        for name in others_sent:
            if name.startswith(REFRESH_COOKIE_PREFIX) and name != self.refresh_cookie:
                response.delete_cookie(name, **self.cookie_options("/auth"))

    def token_answer(self, tokens: Tokens, now: datetime, *, with_refresh: bool) -> dict[str, Any]:
        """The OAuth2 token answer (RFC 6749, 5.1)."""
        answer: dict[str, Any] = {
            "access_token": tokens.access_token,
            "token_type": "bearer",
            "expires_in": self.settings.token_minutes * 60,
        }
        if with_refresh:
            answer["refresh_token"] = tokens.session.refresh_token
            answer["refresh_expires_in"] = int((tokens.session.ends_at - now).total_seconds())
        return answer

    # --- trusted devices -------------------------------------------------------------

    def device_cookie(self, username: str, device_id: str, now: datetime) -> str:
        """A signed note that this browser has signed in as `username` (not a credential:
        it only puts the browser's failed attempts in a count of their own)."""
        claims = {
            "sub": username,
            "did": device_id,
            "iss": self.settings.issuer,
            "aud": f"{self.settings.audience}:device",
            "exp": int((now + DEVICE_LIFE).timestamp()),
        }
        return jwt.encode(claims, self.settings.signing_secret(), algorithm="HS256")

    def _trusted_device(self, request: Request, username: str) -> str | None:
        cookie = request.cookies.get(DEVICE_COOKIE)
        claims = self._claims(cookie, f"{self.settings.audience}:device") if cookie else None
        if claims is None or claims.get("sub") != username or not claims.get("did"):
            return None
        return str(claims["did"])

    def _claims(self, token: str, audience: str) -> dict[str, Any] | None:
        """A built-in token's claims when its signature holds (expired or not: sign-out
        takes an expired access token too)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.settings.signing_secret(),
                algorithms=["HS256"],
                audience=audience,
                issuer=self.settings.issuer,
                options={"verify_exp": False, "require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        return claims
