"""Walk a service's whole access matrix: every route, every role and no token at all."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from shared.auth import PUBLIC_PATHS, Access, AuthSettings, Principal, Role, issue_token
from shared.settings import CommonSettings, ServiceSettings

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")

SECRET = "Zq7vN2kXw9pL4tRb8sYc3mHf6jDg1uEa5oWi0e-Tx_K"

S = TypeVar("S", bound=ServiceSettings)


def signed_in(cls: type[S], tmp_path: Path) -> S:
    """Settings of a service (class `cls`) that requires sign-in, on a SQLite file of its
    own in `tmp_path`; no broker is needed to call its routes."""
    return cls(
        database_url=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=True, secret=SECRET),
    )


def token_for(settings: AuthSettings, *roles: Role, office: str = "kukar") -> str:
    """A valid token for a user holding exactly `roles`."""
    principal = Principal(
        subject=f"user-{uuid.uuid4().hex[:6]}",
        name="Test user",
        office_id=office,
        roles=frozenset(roles),
    )
    return issue_token(principal, settings, datetime.now(UTC))


def routes_of(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every API route the app serves, screens included.

    FastAPI keeps included routers as branches; `effective_route_contexts` lists the
    routes a branch really serves, with their full paths.
    """
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
            if isinstance(route, APIRoute)
            else []
        )
        for context in contexts:
            for method in sorted((context.methods or set()) - {"HEAD"}):
                yield method, context.path


def missing_rules(app: FastAPI) -> list[str]:
    """Routes with no access rule (they answer 403 to everyone; a test should fail)."""
    policy = app.state.access_policy
    return [
        f"{method} {path}"
        for method, path in routes_of(app)
        if path not in PUBLIC_PATHS and f"{method} {path}" not in policy
    ]


def walk_matrix(
    client: TestClient,
    app: FastAPI,
    settings: AuthSettings,
    streaming: frozenset[str] = frozenset(),
) -> list[str]:
    """Call every route as each role and anonymously; return every disagreement between
    the answer and the route's rule (empty: the matrix holds).

    `streaming` routes ("GET /feed") never end for a caller they let in, so there only
    the callers that must be refused are tried."""
    policy = app.state.access_policy
    problems: list[str] = []
    for method, path in routes_of(app):
        rule: Access = (
            Access.anyone()
            if path in PUBLIC_PATHS
            else policy.get(f"{method} {path}", Access())  # no rule: nobody may
        )
        url = _PARAM.sub(lambda _m: str(uuid.uuid4()), path)
        callers: list[tuple[str, dict[str, str], bool]] = [("anonymous", {}, rule.public)]
        for role in Role:
            token = token_for(settings, role)
            allowed = rule.public or role in rule.roles
            callers.append((role.value, {"Authorization": f"Bearer {token}"}, allowed))
        for who, headers, allowed in callers:
            if allowed and f"{method} {path}" in streaming:
                continue
            response = client.request(method, url, headers=headers, json={})
            refused = response.status_code in (401, 403)
            if allowed == refused:
                problems.append(
                    f"{method} {path} as {who}: {response.status_code} "
                    f"({'should pass' if allowed else 'should be refused'})"
                )
    return problems


def matrix_problems(
    app: FastAPI, settings: AuthSettings, streaming: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """(routes without a rule, answers that disagree with the rules) for a service app,
    called without its lifespan (no broker needed): tables are created directly."""
    app.state.runtime.create_tables()
    client = TestClient(app, raise_server_exceptions=False)
    return missing_rules(app), walk_matrix(client, app, settings, streaming)
