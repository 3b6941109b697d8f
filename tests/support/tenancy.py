"""Walk every route of a service as a user of another office: each id a route takes (in
its path, its query or its body) is set to a record of office A, and office B calls it
with every role. The answer must be 404 (403 for a role that may not call the route at
all, 422 `unknown_*` / 403 `other_office` for an id inside a body or query), the same
status and body as for an id nobody has (the value sent aside), never A's data, and no
row of any table may change.

Routes come from the app itself (screens hidden from the schema too), so a new route is
walked without anyone adding it; an id the walk has no way to make a record for fails the
walk with a message naming what to add to the service's registry (`Registry.kinds`).

After B's calls, office A calls the route itself with the same record: it must not answer
404, so a 404 to B proves the record was there and only the office hid it (a maker that
builds too poor a record, e.g. a dispatch without a handover for GET .../handover, fails
the walk instead of passing it vacuously).

Last, every list, screen and report (a GET without an id in its path) is called as
office B: none of the records made for office A may be in it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from shared.auth import PUBLIC_PATHS, Access, AuthSettings, Role
from shared.runtime import ServiceRuntime
from tests.support.access import token_for
from tests.support.injection import _resolve, body_schema, string_paths

OFFICE_A = "kukar"
OFFICE_B = "balangan"

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Names that name a record (or an office): a route taking one is walked, and the walk
# fails when the registry cannot make a record for it.
ID_NAME = re.compile(r"(_id|_ids|_code|_codes)$|^(from|to)_warehouse$")

# A record of `office`, made the way the service makes one (API or event handler); its id
# (or code) as the route takes it.
MakeRecord = Callable[[str], str]
# The value of an id-like name in a request, for this call.
Resolve = Callable[[str], str]
# The keyword arguments of `TestClient.request` beyond method and URL (json=, files=,
# data=, params=); every id in them must come from `resolve(name)`.
BuildRequest = Callable[[Resolve], dict[str, Any]]


@dataclass
class Registry:
    """How to walk one service."""

    kinds: Mapping[str, MakeRecord]  # id name -> how to make such a record of an office
    requests: Mapping[str, BuildRequest] = field(default_factory=dict)  # "POST /path" -> body
    constants: Mapping[str, str] = field(default_factory=dict)  # path parameters naming no record
    shared: Mapping[str, str] = field(default_factory=dict)  # id names of shared data -> why
    # Keys a client picks for its own resends (`client_report_id`), each office's its own:
    # B sending A's key makes B's own record (rows change), never answers with A's.
    office_keys: Mapping[str, str] = field(default_factory=dict)


Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(runtime: ServiceRuntime) -> Snapshot:
    """Every row of every table of the service, in a stable order."""
    with runtime.engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in runtime.metadata.sorted_tables
        }


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables whose rows differ, with how many rows came and went."""
    changes = []
    for name, rows in after.items():
        old = before.get(name, [])
        if rows != old:
            gone = len([row for row in old if row not in rows])
            came = len([row for row in rows if row not in old])
            changes.append(f"{name} (+{came} -{gone})")
    return changes


@dataclass
class Route:
    """One route as the app serves it, with the ids it takes."""

    method: str
    path: str
    path_ids: list[str]
    query_ids: list[str]
    body_ids: list[str]  # names (last key) of id fields in the declared JSON body
    body_fields: frozenset[str]  # the JSON body's top-level fields
    has_body: bool
    hidden: bool  # a screen's form or page: the schema says nothing of its body

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _served(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route) of every route the app serves: FastAPI keeps
    included routers as branches, whose effective contexts are the routes served."""
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            contexts = route.effective_route_contexts()
        elif isinstance(route, APIRoute):
            contexts = [route]
        else:
            continue
        for context in contexts:
            for method in sorted((context.methods or set()) - {"HEAD"}):
                yield method, context.path, context


def _query_params(dependant: Dependant) -> list[Any]:
    """The query parameters of a route and of every dependency it has (an office filter
    is one), without repeats."""
    found: dict[str, Any] = {}
    pending = [dependant]
    while pending:
        current = pending.pop()
        for parameter in current.query_params:
            found.setdefault(parameter.alias, parameter)
        pending.extend(current.dependencies)
    return list(found.values())


def routes_with_ids(app: FastAPI) -> Iterator[Route]:
    """Every route of the app, with the id-like names in its path, its query (its
    dependencies' too) and its JSON body; screens hidden from the schema included."""
    spec = app.openapi()
    for method, path, context in _served(app):
        if path in PUBLIC_PATHS:
            continue
        operation = spec["paths"].get(path, {}).get(method.lower(), {})
        query = [
            parameter.alias
            for parameter in _query_params(context.dependant)
            if ID_NAME.search(parameter.alias)
        ]
        schema = body_schema(operation)
        body: list[str] = []
        fields: frozenset[str] = frozenset()
        if schema is not None:
            fields = frozenset(_resolve(spec, schema).get("properties", {}))
            for field_path in string_paths(spec, schema):
                names = [part for part in field_path if isinstance(part, str)]
                if names and ID_NAME.search(names[-1]) and names[-1] not in body:
                    body.append(names[-1])
        yield Route(
            method=method,
            path=path,
            path_ids=[match.group(1) for match in _PARAM.finditer(path)],
            query_ids=query,
            body_ids=body,
            body_fields=fields,
            has_body="requestBody" in operation,
            hidden=not context.include_in_schema,
        )


@dataclass
class TenancyReport:
    """What the walk found, and how much it did."""

    failures: list[str] = field(default_factory=list)
    calls: int = 0
    walked: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)


class _Values:
    """Makes records on demand: `value(name, office)`, one record per name and office per
    request (so a body naming two warehouses gets one record each)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.made: dict[tuple[str, str], str] = {}

    def with_value(self, name: str, office: str, value: str) -> _Values:
        """The same records, but `value` for `name` of `office`."""
        copy = _Values(self.registry)
        copy.made = {**self.made, (name, office): value}
        return copy

    def value(self, name: str, office: str) -> str:
        if name in self.registry.constants:
            return self.registry.constants[name]
        key = (name, office)
        if key not in self.made:
            self.made[key] = self.registry.kinds[name](office)
        return self.made[key]


class TenancyWalker:
    """Walks one service app (built with sign-in required, without its lifespan)."""

    def __init__(self, app: FastAPI, auth: AuthSettings, registry: Registry) -> None:
        self.app = app
        self.auth = auth
        self.registry = registry
        self.runtime: ServiceRuntime = app.state.runtime
        self.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        self.policy: Mapping[str, Access] = app.state.access_policy
        self.report = TenancyReport()
        # The ids of every record made for office A (UUIDs: codes like GDG-A may be
        # quoted by name in B's own records, a random id never is).
        self.office_a_records: set[str] = set()
        self.headers = {
            (office, role): {"Authorization": f"Bearer {token_for(auth, role, office=office)}"}
            for office in (OFFICE_A, OFFICE_B)
            for role in Role
        }
        self.every_role = {
            office: {"Authorization": f"Bearer {token_for(auth, *Role, office=office)}"}
            for office in (OFFICE_A, OFFICE_B)
        }

    # --- the registry's coverage --------------------------------------------------------

    def _unknown_names(self, route: Route) -> list[str]:
        known = {
            *self.registry.kinds,
            *self.registry.constants,
            *self.registry.shared,
            *self.registry.office_keys,
        }
        return [
            name
            for name in (*route.path_ids, *route.query_ids, *route.body_ids)
            if name not in known
        ]

    def walk(self) -> TenancyReport:
        """Every route of the app; the report lists every problem."""
        served = set()
        for route in routes_with_ids(self.app):
            served.add(route.key)
            self._walk_route(route)
        for key in sorted(set(self.registry.requests) - served):
            self.report.fail(
                f"{key}: the registry builds requests for it, the app has no such route"
            )
        self._sweep_lists()
        return self.report

    def _sweep_lists(self) -> None:
        """Every list, screen and report (a GET without an id in its path) as office B,
        once every record above was made: none of office A's record ids is in it."""
        for route in routes_with_ids(self.app):
            if route.method != "GET" or route.path_ids:
                continue
            kwargs: dict[str, Any] = {}
            if route.key in self.registry.requests:
                values = _Values(self.registry)
                kwargs = self.registry.requests[route.key](partial(values.value, office=OFFICE_B))
            self.report.calls += 1
            response = self.client.get(route.path, headers=self.every_role[OFFICE_B], **kwargs)
            if not 200 <= response.status_code < 300:
                continue  # a list refusing B's call shows B nothing
            leaked = sorted(r for r in self.office_a_records if r.encode() in response.content)
            if leaked:
                self.report.fail(f"{route.key} as office B lists office A's records {leaked}")

    def _walk_route(self, route: Route) -> None:
        unknown = self._unknown_names(route)
        for name in unknown:
            self.report.fail(
                f"{route.key}: takes `{name}`, and the walk cannot make a record for it: add "
                f"`{name}` to the registry's kinds (how to make one as an office) or, if it "
                "names no office's record, to constants/shared"
            )
        if unknown:
            return
        if route.hidden and route.method != "GET" and route.key not in self.registry.requests:
            self.report.fail(
                f"{route.key}: a form the schema does not describe: add a request builder "
                "for it to the registry's requests (its fields, ids through resolve)"
            )
            return
        if route.has_body and route.key not in self.registry.requests:
            if any(name in self.registry.kinds for name in (*route.path_ids, *route.body_ids)):
                self.report.fail(
                    f"{route.key}: takes a body and an id: add a request builder for it to "
                    "the registry's requests (a valid body for the calling office)"
                )
            return
        with_request = route.key in self.registry.requests
        body_names = self._request_names(route) if with_request else []
        probes = [(name, "path") for name in route.path_ids if name in self.registry.kinds]
        probes += [
            (name, "query" if name in route.query_ids else "body")
            for name in dict.fromkeys([*route.query_ids, *body_names])
            if name in self.registry.kinds and name not in route.path_ids
        ]
        if not probes:
            return
        self.report.walked.append(route.key)
        for name, where in probes:
            self._probe(route, name, where=where, with_request=with_request)

    def _request_names(self, route: Route) -> list[str]:
        """The ids the route's request builder asks for (recorded by a dry build)."""
        asked: list[str] = []

        def record(name: str) -> str:
            if name not in asked:
                asked.append(name)
            return "00000000-0000-4000-8000-000000000000"

        self.registry.requests[route.key](record)
        for name in route.body_ids:
            if name not in asked and name not in self.registry.shared:
                self.report.fail(
                    f"{route.key}: its body's `{name}` is not built from the walk's records "
                    f"(the request builder must ask `resolve({name!r})`)"
                )
        return [name for name in asked if name not in self.registry.shared]

    # --- one id of one route ------------------------------------------------------------

    def _request(
        self, route: Route, values: _Values, office_of: Callable[[str], str], with_request: bool
    ) -> tuple[str, dict[str, Any]]:
        url = _PARAM.sub(lambda m: values.value(m.group(1), office_of(m.group(1))), route.path)
        kwargs: dict[str, Any] = {}
        if with_request:
            kwargs = self.registry.requests[route.key](
                lambda name: values.value(name, office_of(name))
            )
            kwargs = self._declared_only(route, kwargs)
        params = dict(kwargs.pop("params", {}))
        for name in route.query_ids:
            if name in self.registry.kinds and name not in params:
                params[name] = values.value(name, office_of(name))
        if params:
            kwargs["params"] = params
        return url, kwargs

    def _declared_only(self, route: Route, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The builder's JSON body without fields the route no longer declares (an actor
        now taken from the token, say), so that the walk outlives such a change; an id
        field gone from the body fails the walk instead, the builder must follow it."""
        body = kwargs.get("json")
        if not isinstance(body, dict) or not route.body_fields:
            return kwargs
        gone = sorted(set(body) - route.body_fields)
        for name in gone:
            if ID_NAME.search(name):
                self.report.fail(f"{route.key}: the body declares no `{name}` any more")
        return {**kwargs, "json": {k: v for k, v in body.items() if k in route.body_fields}}

    def _probe(self, route: Route, name: str, *, where: str, with_request: bool) -> None:
        values = _Values(self.registry)
        # The id under test is office A's; every other record in the request is B's own.
        url, kwargs = self._request(
            route, values, lambda other: OFFICE_A if other == name else OFFICE_B, with_request
        )
        secret = values.value(name, OFFICE_A)
        self.office_a_records |= {
            value
            for (_name, office), value in values.made.items()
            if office == OFFICE_A and _UUID.fullmatch(value)
        }
        label = f"{route.key} with office A's {where} `{name}`"
        if where == "body" and not self._baseline(route, values, with_request, label):
            return
        # The same request naming a record nobody has: A's must be answered alike.
        unknown = unknown_like(secret)
        unknown_values = values.with_value(name, OFFICE_A, unknown)
        unknown_url, unknown_kwargs = self._request(
            route,
            unknown_values,
            lambda other: OFFICE_A if other == name else OFFICE_B,
            with_request,
        )
        compare = name not in self.registry.office_keys
        rule = self.policy.get(route.key, Access())
        before = snapshot(self.runtime)
        for role in Role:
            allowed = rule.public or role in rule.roles
            headers = self.headers[(OFFICE_B, role)]
            self.report.calls += 1
            response = self.client.request(route.method, url, headers=headers, **kwargs)
            self._judge(
                response,
                allowed=allowed,
                where=where,
                # Compared with an unknown id's answer below, A's id may be echoed.
                secret=None if compare else secret,
                label=label,
                role=role,
            )
            if allowed and compare:
                self.report.calls += 1
                as_unknown = self.client.request(
                    route.method, unknown_url, headers=headers, **unknown_kwargs
                )
                if _seen(response, secret) != _seen(as_unknown, unknown):
                    self.report.fail(
                        f"{label} as B's {role.value}: answered unlike an unknown id "
                        f"({response.status_code} {response.text[:160]!r} vs "
                        f"{as_unknown.status_code} {as_unknown.text[:160]!r})"
                    )
        after = snapshot(self.runtime)
        changes = changed_tables(before, after)
        if changes and name not in self.registry.office_keys:
            self.report.fail(f"{label}: office B's calls changed rows: {', '.join(changes)}")
        if where == "path":
            # The same record of A, everything else in the request A's too.
            url, kwargs = self._request(route, values, lambda _name: OFFICE_A, with_request)
            self._control(route, url, kwargs, label)

    def _baseline(self, route: Route, values: _Values, with_request: bool, label: str) -> bool:
        """The request with B's own records only must be accepted: the builder's body is
        valid, so a refusal of A's id is about that id."""
        url, kwargs = self._request(route, values, lambda _name: OFFICE_B, with_request)
        self.report.calls += 1
        response = self.client.request(
            route.method, url, headers=self.every_role[OFFICE_B], **kwargs
        )
        if not _accepted(response):
            self.report.fail(
                f"{label}: the same request with B's own records was refused "
                f"({response.status_code} {response.text[:200]}): fix its request builder"
            )
            return False
        return True

    def _control(self, route: Route, url: str, kwargs: dict[str, Any], label: str) -> None:
        """Office A reaches its own record through the same call: B's 404 was the office."""
        self.report.calls += 1
        response = self.client.request(
            route.method, url, headers=self.every_role[OFFICE_A], **kwargs
        )
        if response.status_code == 404 or _redirected_with_error(response, "no "):
            self.report.fail(
                f"{label}: office A's own call answers {response.status_code} too "
                f"({response.text[:200]}): its maker must build a record this route finds"
            )

    def _judge(
        self,
        response: Response,
        *,
        allowed: bool,
        where: str,
        secret: str | None,
        label: str,
        role: Role,
    ) -> None:
        status = response.status_code
        who = f"{label} as B's {role.value}"
        if not allowed:
            if status != 403:
                self.report.fail(f"{who}: {status}, a role without access answers 403")
            return
        if _redirected_with_error(response, ""):
            return  # a screen's form: back to the page with the refusal
        if 200 <= status < 300:
            if where == "path":
                self.report.fail(f"{who}: {status} {response.text[:200]} (not 404)")
            elif secret is not None and secret in response.text:
                self.report.fail(f"{who}: {status} answers with A's record {response.text[:200]}")
            return
        error = _error_code(response)
        refused = status == 404 or (
            where != "path"
            and (
                (status == 422 and error.startswith("unknown_"))
                or (status == 403 and error == "other_office")
            )
        )
        if not refused:
            self.report.fail(f"{who}: {status} {response.text[:200]}")


# Long random-looking runs (form tokens, ids) that differ between two pages of one screen.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,}")
# Every page carries a fresh Content-Security-Policy nonce: it tells nothing of the record.
_NONCE = re.compile(r'nonce="[^"]*"')


def unknown_like(value: str) -> str:
    """A value of the same kind naming nothing: a fresh UUID, or a code nobody has."""
    if _UUID.fullmatch(value):
        return str(uuid.uuid4())
    suffix = f"-x{uuid.uuid4().hex[:6]}"
    return value + (suffix if value.islower() else suffix.upper())


def _seen(response: Response, sent: str) -> tuple[int, str]:
    """What a caller learns from an answer, the value it sent taken out."""
    # Whole values only: another record's code may begin with the one sent (GDG-A, GDG-A645AC).
    whole = rf"(?<![A-Za-z0-9_-]){re.escape(sent)}(?![A-Za-z0-9_-])"
    text = re.sub(whole, "<sent>", response.content.decode("utf-8", "replace"))
    if response.headers.get("content-type", "").split(";")[0] != "application/json":
        text = _NONCE.sub('nonce="<nonce>"', _TOKEN.sub("<token>", text))
    return response.status_code, text


# A screen that shows a refusal in place names its code on the notice (`data-refused`).
_SCREEN_REFUSAL = re.compile(r'data-refused="([a-z_]+)"')


def _error_code(response: Response) -> str:
    if response.headers.get("content-type", "").startswith("text/html"):
        found = _SCREEN_REFUSAL.search(response.text)
        return found.group(1) if found else ""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _accepted(response: Response) -> bool:
    return 200 <= response.status_code < 300 or (
        response.status_code == 303 and not _redirected_with_error(response, "")
    )


def _redirected_with_error(response: Response, starting: str) -> bool:
    """A screen's form answers 303 back to its page, `error=` or `refused=` naming the
    refusal."""
    location = response.headers.get("location", "")
    wanted = starting.replace(" ", "+")
    return response.status_code == 303 and (
        f"error={wanted}" in location or f"refused={wanted}" in location
    )


def failures_text(service: str, report: TenancyReport) -> str:
    """The assertion message: every problem, one a line."""
    return f"{service}: {len(report.failures)} problems in {report.calls} calls:\n" + "\n".join(
        report.failures[:100]
    )
