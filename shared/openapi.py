"""Each service's OpenAPI document, made to say what the service really answers.

FastAPI documents a route's own success answer and its validation error. The answers
that come from the layers every route passes through are added here, once, from the
same rules that produce them:

- 401 (no token, a bad or signed-out token) and 403 (a role the access rule does not
  name, another office, a cross-site form) on every route that is not public
  (`shared.auth`, `shared.csrf`);
- 400 (a `Content-Length` that is not a number), 413 (a body over the limit) and 415 (a
  body of a type no endpoint reads) on every POST, PUT and PATCH (`shared.http.RequestGuard`);
- 422 on every route: a control character in the address is refused before routing;
- 503 on every route that reads or writes the database (all but the liveness probe and
  the metrics): the database did not answer and nothing was saved.

Every 4xx and 5xx answer, documented by a route or added here, has the one body
`shared.http.ErrorBody` (`{"error": code, "detail": ...}`); FastAPI's own
`HTTPValidationError` shape, which no service sends, is dropped. Routes get stable,
readable operation ids, `<service>_<function name>` (e.g. `intake_verify`), and the
document names its bearer-token security scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shared.auth import PUBLIC_PATHS, Access, Policy
from shared.http import ErrorBody

ERROR_SCHEMA_NAME = ErrorBody.__name__
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
BEARER_SCHEME = "bearer"
_BODY_METHODS = frozenset({"post", "put", "patch"})
# Answer without touching the database.
_NO_DATABASE = frozenset({"/livez", "/metrics"})

COMMON_ANSWERS: dict[int, str] = {
    400: "The request's framing is wrong (a Content-Length that is not a number)",
    401: "No valid bearer token: none, expired, signed out, or not ours",
    403: "Signed in, but not allowed: the role, the office, or a cross-site request",
    404: "Unknown id (or one of another office)",
    409: "Conflicts with the current state",
    413: "The body is larger than the service accepts; nothing was saved",
    415: "The body's content type is not one this service reads",
    422: "Invalid request: malformed JSON, a field the schema refuses, a domain rule broken, "
    "or a control character in the address",
    503: "The database is not answering; nothing was saved, try again (see Retry-After)",
}


def operation_ids(service: str) -> Callable[[APIRoute], str]:
    """FastAPI's `generate_unique_id_function`: `<service>_<endpoint function name>`.
    tests/contract/operation_ids.json holds every service's ids, so a rename (which
    breaks generated clients) is a deliberate change to that file."""

    def operation_id(route: APIRoute) -> str:
        return f"{service}_{route.name}"

    return operation_id


def publish_honest_openapi(api: FastAPI) -> None:
    """Replace `api.openapi` with one that documents the shared answers (module docstring),
    by the access policy the app enforces (`api.state.access_policy`; none: all public)."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                openapi_version=api.openapi_version,
                description=api.description,
                routes=api.routes,
                tags=api.openapi_tags,
                servers=api.servers,
            )
            policy: Policy | None = getattr(api.state, "access_policy", None)
            api.openapi_schema = with_common_answers(document, policy)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def with_common_answers(document: dict[str, Any], policy: Policy | None) -> dict[str, Any]:
    """`document` with the shared answers added to every operation (module docstring)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR_SCHEMA_NAME] = ErrorBody.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if policy is not None:
        components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from POST /auth/token (or the office's identity provider).",
        }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            rule = _rule(policy, method, path)
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for common in _common_statuses(method, path, rule):
                responses.setdefault(str(common), {"description": COMMON_ANSWERS[common]})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and _error_shaped(response):
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
                    if not response.get("description") or response["description"] in (
                        "Validation Error",
                        "Unprocessable Content",
                    ):
                        response["description"] = COMMON_ANSWERS.get(int(status), "Refused")
            if policy is not None and not rule.public:
                operation["security"] = [{BEARER_SCHEME: []}]
    return document


def _error_shaped(response: dict[str, Any]) -> bool:
    """Whether an error answer has the error body: all do but the few that document a
    body of their own (the readiness probes' figures)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema is None or schema.get("$ref", "").endswith(
        (f"/{ERROR_SCHEMA_NAME}", "/HTTPValidationError")
    )


def _rule(policy: Policy | None, method: str, path: str) -> Access:
    if policy is None or path in PUBLIC_PATHS:
        return Access.anyone()
    # A route missing from the policy is refused to everyone (403 no_access_rule).
    return policy.get(f"{method.upper()} {path}", Access())


def _common_statuses(method: str, path: str, rule: Access) -> list[int]:
    statuses = [422]
    if path not in PUBLIC_PATHS:
        # A malformed or signed-out bearer token is refused on every route but the
        # probes, the docs and the sign-in routes (shared.auth).
        statuses.append(401)
    if not rule.public or method in _BODY_METHODS:
        statuses.append(403)
    if method in _BODY_METHODS:
        statuses += [400, 413, 415]
    if "{" in path:
        statuses.append(404)  # the id names nothing here (or something of another office)
    if path not in _NO_DATABASE:
        statuses.append(503)
    return sorted(statuses)


def file_answer(*media_types: str, description: str = "The file") -> dict[int | str, Any]:
    """`responses` of a route that answers a file or a stream rather than JSON; give the
    route `response_class=Response` too, or FastAPI documents application/json beside."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": dict.fromkeys(media_types, binary)}}
