"""Who may call what: OAuth2 bearer tokens (signed JWTs), roles, and one access rule per
endpoint, checked before any handler runs.

Tokens are verified locally in every service with the issuer's key: HS256 with a shared
secret for the built-in development identity provider (`POST /auth/token`, users from a
TOML file with scrypt password hashes), or RS256/ES256 with an external identity
provider's public key (Keycloak or the province's SSO) in production. Claims used: `sub`,
`name`, `office` (the tenant), `roles`, `exp`, `iss`, `aud`.

Every route has an entry in its service's policy ("METHOD /path/template" -> Access);
a route without one is refused (deny by default), and a test walks the whole matrix.
Development may run with `DINSOS_AUTH_REQUIRED=false` (everyone is a local user of the
default office with every role); production refuses to start that way.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import html
import secrets
import tomllib
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import quote

import jwt
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.audit import set_context
from shared.http import csp_nonce


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
    token_minutes: int = Field(default=12 * 60, ge=1, le=7 * 24 * 60)  # one field shift
    users_file: Path | None = None
    environment: str = Field(default="development", validation_alias="DINSOS_ENVIRONMENT")

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


def issue_token(principal: Principal, settings: AuthSettings, now: datetime) -> str:
    """A signed token for `principal` (the development identity provider; HS256 only)."""
    claims = {
        "sub": principal.subject,
        "name": principal.name,
        "office": principal.office_id,
        "roles": sorted(principal.roles),
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.token_minutes)).timestamp()),
    }
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
    )


# --- the development identity provider ----------------------------------------------


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """scrypt, as stored in the users file: scrypt$n$r$p$salt$hash (base64)."""
    salt = salt or secrets.token_bytes(16)
    n, r, p = 2**14, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    encode = base64.b64encode
    return f"scrypt${n}${r}${p}${encode(salt).decode()}${encode(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a stored scrypt hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


@dataclass(frozen=True)
class UserRecord:
    """One user of the development identity provider."""

    principal: Principal
    password_hash: str


def load_users(path: Path) -> dict[str, UserRecord]:
    """Users from a TOML file of `[[user]]` tables; a bad entry stops start-up."""
    document = tomllib.loads(path.read_text())
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


TOKEN_COOKIE = "dinsos_token"  # noqa: S105 - a cookie name, not a secret
_LOGIN_TEXT = {
    "id": ("Masuk", "Nama pengguna", "Kata sandi", "Nama pengguna atau kata sandi salah."),
    "en": ("Sign in", "Username", "Password", "Unknown user or wrong password."),
}


def _authenticated_user(settings: AuthSettings, username: str, password: str) -> UserRecord | None:
    users = load_users(settings.users_file) if settings.users_file else {}
    record = users.get(username)
    if record is None or not password_matches(password, record.password_hash):
        return None
    return record


def _safe_next(target: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_page(next_path: str, lang: str, failed: bool = False, *, nonce: str) -> HTMLResponse:
    """The sign-in form the screens send a browser to (no token yet); `nonce` is the
    response's CSP nonce (shared.http.csp_nonce) for its style sheet."""
    title, user_label, password_label, error = _LOGIN_TEXT.get(lang, _LOGIN_TEXT["id"])
    message = f'<p role="alert" class="error">{error}</p>' if failed else ""
    body = f"""<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style nonce="{html.escape(nonce)}">
body{{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.4rem 0;font-size:1.1rem}}
.error{{color:#b00020}}</style></head><body><h1>{title}</h1>{message}
<form method="post" action="auth/login">
<input type="hidden" name="next" value="{html.escape(_safe_next(next_path))}">
<label for="username">{user_label}</label><input id="username" name="username" required>
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" required>
<button type="submit">{title}</button></form></body></html>"""
    return HTMLResponse(body, status_code=401 if failed else 200)


def token_router(settings: AuthSettings) -> APIRouter:
    """The development identity provider: `POST /auth/token` (OAuth2 password flow, for
    API clients and phones) and `GET /login` + `POST /auth/login` (for the screens: the
    token goes into an HttpOnly, SameSite=Strict cookie)."""
    router = APIRouter(tags=["auth"])

    @router.post("/auth/token")
    def token(
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
    ) -> JSONResponse:
        record = _authenticated_user(settings, username, password)
        if record is None:
            return JSONResponse(
                status_code=401,
                content={"error": "bad_credentials", "detail": "unknown user or wrong password"},
            )
        return JSONResponse(
            {
                "access_token": issue_token(record.principal, settings, datetime.now(UTC)),
                "token_type": "bearer",
                "expires_in": settings.token_minutes * 60,
            }
        )

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, next: str = "/", lang: str = "id") -> HTMLResponse:  # noqa: A002 - the query name
        return login_page(next, lang, nonce=csp_nonce(request))

    @router.post("/auth/login", include_in_schema=False)
    def login_form(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002 - the form field
    ) -> Response:
        record = _authenticated_user(settings, username, password)
        if record is None:
            return login_page(next, "id", failed=True, nonce=csp_nonce(request))
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            TOKEN_COOKIE,
            issue_token(record.principal, settings, datetime.now(UTC)),
            max_age=settings.token_minutes * 60,
            httponly=True,
            samesite="strict",
            secure=settings.environment == "production",
        )
        return response

    return router


# --- enforcement --------------------------------------------------------------------

PUBLIC_PATHS = (
    "/health",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/auth/token",
    "/auth/login",
    "/login",
)


def _authenticate(
    request: Request, settings: AuthSettings, fallback: Principal
) -> Principal | None:
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "token_invalid", "use 'Authorization: Bearer <token>'")
        return decode_token(token.strip(), settings)
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie:
        return decode_token(cookie, settings)
    return None if settings.required else fallback


def protect(api: FastAPI, policy: Policy, settings: AuthSettings, *, office: str) -> None:
    """Check `policy` before every API route of `api` and serve the development token
    endpoint. Call it before any route is added: FastAPI copies app-wide dependencies
    into each route as it is created.

    The check runs as a dependency rather than a middleware because only after routing is
    the route's path template known; deny by default: a route missing from the policy
    answers 403 `no_access_rule`. Sets `request.state.principal` (see `current_user`).
    """
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
        principal = _authenticate(request, settings, development_user)
        rule = Access.anyone() if path in PUBLIC_PATHS else policy.get(f"{request.method} {path}")
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

    api.include_router(token_router(settings))


def request_source(request: Request) -> str:
    """How an audit entry names the request that caused it."""
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
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
