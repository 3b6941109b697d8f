"""Who may call what: OAuth2 bearer tokens (signed JWTs), roles, and one access rule per
endpoint, checked before any handler runs.

Tokens are verified locally in every service with the issuer's key: HS256 with a shared
secret for the built-in identity provider (`shared/identity.py`: `POST /auth/token`,
`/login`, refresh and sign-out; users from a TOML file with scrypt password hashes), or
RS256/ES256 with an external identity provider's public key (Keycloak or the province's
SSO). Claims used: `sub`, `name`, `office` (the tenant), `roles`, `exp`, `iss`, `aud`, and
from the built-in provider `jti` (the token) and `sid` (the session), by which a token
signed out in this process is refused.

Every route has an entry in its service's policy ("METHOD /path/template" -> Access);
a route without one is refused (deny by default), and a test walks the whole matrix.
Development may run with `DINSOS_AUTH_REQUIRED=false` (everyone is a local user of the
default office with every role); production refuses to start that way.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Self
from urllib.parse import quote

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.audit import set_context
from shared.logs import current_request_id, sane_request_id
from shared.passwords import OWASP_SCRYPT_N

if TYPE_CHECKING:
    from shared.signin_state import SessionRegistry


class Role(enum.StrEnum):
    """The people who use the system (see docs/architecture.md, "Who may do what")."""

    FIELD_TEAM = "field_team"  # Tagana teams and village officials reporting, delivering
    WAREHOUSE = "warehouse"  # gudang staff: stock, picking, receiving
    COORDINATOR = "coordinator"  # Kabid Linjamsos / Kepala Dinas: validate, decide, watch
    OFFICE_ADMIN = "office_admin"  # users, standards, subscriptions of one office


ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Access:
    """Who may call one endpoint: nobody needs a token (public), or any of `roles`."""

    public: bool = False
    roles: frozenset[Role] = field(default_factory=frozenset)

    @classmethod
    def anyone(cls) -> Self:
        """No token needed (health, API docs, the static shell of a screen)."""
        return cls(public=True)

    @classmethod
    def of(cls, *roles: Role) -> Self:
        """Any signed-in user holding one of `roles`."""
        return cls(roles=frozenset(roles))

    def allows(self, principal: Principal | None) -> bool:
        """Whether `principal` (None: no valid token) may call the endpoint."""
        if self.public:
            return True
        return principal is not None and bool(principal.roles & self.roles)


Policy = Mapping[str, Access]


@dataclass(frozen=True)
class Principal:
    """The signed-in user a request acts for."""

    subject: str
    name: str
    office_id: str
    roles: frozenset[Role]
    # Only the local development user (sign-in switched off) sees every office.
    all_offices: bool = False
    # The built-in identity provider's token (`jti`) and session (`sid`), for sign-out.
    token_id: str | None = None
    session_id: str | None = None

    def has(self, role: Role) -> bool:
        """Whether the user holds `role`."""
        return role in self.roles


# The key tests sign with when they set none. It is published in this file, so a
# deployment that requires sign-in refuses it, as it refuses every known or guessable key.
TEST_ONLY_SECRET = "development-only-secret-change-me-0123456789"  # noqa: S105 - refused outside tests
KNOWN_SECRETS = frozenset(
    {
        TEST_ONLY_SECRET,
        "a-test-secret-that-is-long-enough-0123456789",  # the one older tests used
        "change-me-to-a-long-random-secret-of-32-chars",
    }
)
# zxcvbn's estimate of the guesses an attacker needs, as a power of ten: 10^32 is about
# 106 bits, what 22 random URL-safe characters give; words, repeats and keyboard runs
# score far lower however long they are.
MIN_SECRET_GUESSES_LOG10 = 32.0
SECRET_ADVICE = "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105 - advice, not a key


def secret_weakness(value: str) -> str | None:
    """Why `value` is not fit to sign tokens with (None: it is)."""
    from zxcvbn import zxcvbn  # noqa: PLC0415 - its dictionaries load on first use only

    if value in KNOWN_SECRETS:
        return "it is a published value"
    if len(value) < 32:
        return f"it has {len(value)} characters, 32 or more are needed"
    # zxcvbn looks at the first 100 characters; a longer secret only gets stronger.
    guesses_log10 = float(zxcvbn(value[:100])["guesses_log10"])
    if guesses_log10 < MIN_SECRET_GUESSES_LOG10:
        return (
            f"it is guessable (about 10^{guesses_log10:.0f} guesses; "
            f"10^{MIN_SECRET_GUESSES_LOG10:.0f} or more are needed)"
        )
    return None


class AuthSettings(BaseSettings):
    """How tokens are issued and checked (`DINSOS_AUTH_*`)."""

    model_config = SettingsConfigDict(
        # A refused secret must not reach a log through the error that refuses it.
        env_prefix="DINSOS_AUTH_",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    required: bool = True
    algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    # HS256: the shared secret; RS256/ES256: the identity provider's public key (PEM).
    secret: SecretStr | None = None
    public_key: str | None = None
    issuer: str = "dinsos-local"
    audience: str = "dinsos"
    # An access token lives minutes: a signed-out session dies everywhere within this
    # time. The screens refresh it silently for as long as the session lasts.
    token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_hours: int = Field(default=14, ge=1, le=7 * 24)  # a field shift and a margin
    users_file: Path | None = None
    # Failed sign-ins: this many for one user (or one trusted device) within the window
    # lock it out for the lock-out time; the per-address limit catches spraying.
    max_failures_per_user: int = Field(default=5, ge=1)
    max_failures_per_address: int = Field(default=30, ge=1)
    failure_window_minutes: int = Field(default=15, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # scrypt's N for password hashes (r=8, p=1): OWASP's 2^17; only the test suite, which
    # hashes hundreds of times, may ask for less.
    scrypt_n: int = Field(default=OWASP_SCRYPT_N, ge=2**10, le=2**20)
    environment: str = Field(default="development", validation_alias="DINSOS_ENVIRONMENT")

    @model_validator(mode="after")
    def _refuse_cheap_password_hashes(self) -> Self:
        if self.scrypt_n & (self.scrypt_n - 1):
            raise ValueError("DINSOS_AUTH_SCRYPT_N must be a power of two")
        if self.scrypt_n < OWASP_SCRYPT_N and self.environment != "test":
            raise ValueError(f"DINSOS_AUTH_SCRYPT_N below {OWASP_SCRYPT_N} is for tests only")
        return self

    @model_validator(mode="after")
    def _refuse_guessable_secrets(self) -> Self:
        if self.environment == "production" and not self.required:
            raise ValueError("DINSOS_AUTH_REQUIRED=false is not allowed in production")
        if self.algorithm != "HS256":
            return self
        if self.secret is not None:
            weakness = secret_weakness(self.secret.get_secret_value())
            if weakness is not None:
                raise ValueError(f"DINSOS_AUTH_SECRET is refused: {weakness}. {SECRET_ADVICE}")
        elif self.required and self.environment != "test":
            # Anyone who has read this repository could mint a token for any office and
            # role with a built-in key, so only the test suite may rely on it.
            raise ValueError(
                f"sign-in is required but DINSOS_AUTH_SECRET is not set. {SECRET_ADVICE}"
            )
        return self

    def verification_key(self) -> str:
        """The key a token's signature is checked with."""
        if self.algorithm == "HS256":
            return self.signing_secret()
        if not self.public_key:
            raise ValueError(f"{self.algorithm} needs DINSOS_AUTH_PUBLIC_KEY")
        return self.public_key

    def signing_secret(self) -> str:
        """The HS256 secret. Without one (tests, or sign-in switched off, where no token is
        checked) the built-in test key, which every other case refuses at start-up."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        return TEST_ONLY_SECRET


class AuthError(Exception):
    """A request without a valid token (401) or without the role it needs (403)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def issue_token(
    principal: Principal, settings: AuthSettings, now: datetime, *, session_id: str | None = None
) -> str:
    """A signed token for `principal` (the built-in identity provider; HS256 only), named
    by a fresh `jti` and, given one, the session it belongs to (`sid`)."""
    claims: dict[str, object] = {
        "jti": uuid.uuid4().hex,
        "sub": principal.subject,
        "name": principal.name,
        "office": principal.office_id,
        "roles": sorted(principal.roles),
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.token_minutes)).timestamp()),
    }
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")


def decode_token(token: str, settings: AuthSettings) -> Principal:
    """The principal a token names, or AuthError(401) saying why it is not accepted."""
    try:
        claims = jwt.decode(
            token,
            settings.verification_key(),
            algorithms=[settings.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(401, "token_expired", "the token has expired; sign in again") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError(401, "token_invalid", "the token's signature is not valid") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(401, "token_invalid", f"the token is not accepted: {exc}") from exc
    try:
        roles = frozenset(Role(r) for r in claims.get("roles", []))
        office = str(claims["office"])
    except (KeyError, ValueError) as exc:
        raise AuthError(
            401, "token_invalid", "the token lacks an office or has unknown roles"
        ) from exc
    return Principal(
        subject=str(claims["sub"]),
        name=str(claims.get("name", claims["sub"])),
        office_id=office,
        roles=roles,
        token_id=_optional_text(claims.get("jti")),
        session_id=_optional_text(claims.get("sid")),
    )


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


TOKEN_COOKIE = "dinsos_token"  # noqa: S105 - a cookie name, not a secret


# --- enforcement --------------------------------------------------------------------

# Probes and scrapers (they hold no token; counts only), the API docs, and the identity
# provider's own routes: they read (or ignore) tokens themselves, so a stale
# or broken token never stands between a user and signing in or out.
PUBLIC_PATHS = (
    "/health",
    "/livez",
    "/readyz",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/auth/token",
    "/auth/login",
    "/auth/refresh",
    "/auth/logout",
    "/auth/session.js",
    "/assets/{name:path}",
    "/login",
)


def _authenticate(
    request: Request,
    settings: AuthSettings,
    fallback: Principal,
    signed_out: SessionRegistry,
    *,
    public: bool,
) -> Principal | None:
    """The caller, from a bearer header or the screens' cookie. On a public route a cookie
    that no longer verifies is ignored (it would only stand in the way of the page); a
    bearer header that does not verify is refused everywhere but the sign-in routes."""
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "token_invalid", "use 'Authorization: Bearer <token>'")
        return _verified(token.strip(), settings, signed_out)
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie:
        try:
            return _verified(cookie, settings, signed_out)
        except AuthError:
            if not public:
                raise
            return None
    return None if settings.required else fallback


def _verified(token: str, settings: AuthSettings, signed_out: SessionRegistry) -> Principal:
    principal = decode_token(token, settings)
    if signed_out.refuses(
        token_id=principal.token_id, session_id=principal.session_id, now=datetime.now(UTC)
    ):
        raise AuthError(401, "token_revoked", "this session was signed out; sign in again")
    return principal


def protect(
    api: FastAPI,
    policy: Policy,
    settings: AuthSettings,
    *,
    office: str,
    service: str = "dinsos",
) -> None:
    """Check `policy` before every API route of `api` and serve the built-in identity
    provider (`shared/identity.py`; `service` names its session cookie). Call it before
    any route is added: FastAPI copies app-wide dependencies into each route as it is
    created.

    The check runs as a dependency rather than a middleware because only after routing is
    the route's path template known; deny by default: a route missing from the policy
    answers 403 `no_access_rule`. Sets `request.state.principal` (see `current_user`).
    """
    # shared.identity builds on this module's settings and tokens, so it is imported here.
    from shared.identity import IdentityProvider  # noqa: PLC0415 - see above
    from shared.signin_routes import identity_router  # noqa: PLC0415 - see above

    provider = IdentityProvider(settings, service=service)
    development_user = Principal(
        subject="local",
        name="Local development user",
        office_id=office,
        roles=ALL_ROLES,
        all_offices=True,
    )

    async def authorize(request: Request) -> None:
        # async: it runs in the request's own context, so the audit attribution it sets is
        # seen by the endpoint (sync endpoints get a copy of this context in their thread).
        route = request.scope.get("route")
        path = getattr(route, "path", "")
        rule = Access.anyone() if path in PUBLIC_PATHS else policy.get(f"{request.method} {path}")
        try:
            principal = _authenticate(
                request,
                settings,
                development_user,
                provider.sessions,
                public=rule is not None and rule.public,
            )
        except AuthError:
            if path not in PUBLIC_PATHS:
                raise
            principal = None
        if rule is None:
            raise AuthError(403, "no_access_rule", "this endpoint has no access rule")
        if not rule.allows(principal):
            if principal is None:
                raise AuthError(401, "not_authenticated", "sign in: send a bearer token")
            raise AuthError(
                403,
                "forbidden_role",
                f"needs one of {sorted(rule.roles)}; you have {sorted(principal.roles)}",
            )
        request.state.principal = principal
        set_context(principal.subject if principal else "anonymous", request_source(request))
        _office_scope.set(
            None if principal is None or principal.all_offices else principal.office_id
        )

    api.router.dependencies.append(Depends(authorize))
    api.state.access_policy = policy

    @api.exception_handler(AuthError)
    async def _auth_error(request: Request, error: AuthError) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if error.status == 401 and wants_page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return JSONResponse(
            status_code=error.status,
            content={"error": error.code, "detail": error.detail},
            headers={"WWW-Authenticate": "Bearer"} if error.status == 401 else None,
        )

    api.include_router(identity_router(provider))


def request_source(request: Request) -> str:
    """How an audit entry names the request that caused it."""
    # The id the answer echoes and the logs carry (shared.logs), so one id finds all three.
    request_id = current_request_id() or sane_request_id(request.headers.get("x-request-id"))
    route = request.scope.get("route")
    return f"request:{request.method} {getattr(route, 'path', request.url.path)} {request_id}"


async def anonymous_context(request: Request) -> None:
    """For an API served without access rules: attribute changes to the request only."""
    set_context("anonymous", request_source(request))


_office_scope: ContextVar[str | None] = ContextVar("office_scope", default=None)


def scoped_office() -> str | None:
    """The office the current request is confined to, read where no request is at hand
    (use cases); None for events being applied and for the local development user."""
    return _office_scope.get()


def visible_to_caller(office_id: str) -> bool:
    """Whether a record of `office_id` may be seen and changed by the current request:
    always for events being applied and for the local development user."""
    scope = _office_scope.get()
    return scope is None or scope == office_id


def office_scope(request: Request) -> str | None:
    """The office (tenant) this request is confined to: the signed-in user's; None only for
    the local development user when sign-in is off."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or principal.all_offices:
        return None
    return principal.office_id


def confine(scope: str | None, office_id: str, what: str) -> None:
    """Refuse a record of another office as if it did not exist (its id reveals nothing)."""
    if scope is not None and office_id != scope:
        raise AuthError(404, "not_found", f"no such {what}")


def current_user(request: Request) -> Principal:
    """FastAPI dependency: the signed-in user of this request."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise AuthError(401, "not_authenticated", "sign in: send a bearer token")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
