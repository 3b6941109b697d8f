"""Send injection strings into every text field of every JSON request body a service
declares in its OpenAPI schema, one field at a time, and collect every answer that is not
a clear refusal or a faithful store.

A service's test supplies, per operation, functions that build a VALID request (creating
whatever ids it needs first); the prober proves each builds a request the service
accepts, then swaps one string for one payload at a time. After an acceptance it builds a
fresh valid request (the first may have used up its dispatch, alert, ...); after a
refusal it checks that no table lost or gained a row.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, union_all

from shared.runtime import ServiceRuntime

# What the issue names, plus a few classics: every one must be stored as data or refused.
PAYLOADS: dict[str, str] = {
    "sql_drop": "'; DROP TABLE x; --",
    "sql_delete": "Robert'); DELETE FROM lot WHERE ('1'='1",
    "script": "<script>alert(1)</script>",
    "template": "{{7*7}} ${7*7} %s %n",
    "traversal": "../../etc/passwd",
    "nul": "a\u0000b",
    "crlf": "a\r\nSet-Cookie: x=1",
    "rtl_override": "\u202egnp.exe",
    "long": "x" * 100_000,
}

# A URL carries at most a few kilobytes (HTTP clients and servers refuse more), so the
# long string sent in a query is only as long as a client would let through.
QUERY_PAYLOADS: dict[str, str] = {**PAYLOADS, "long": "x" * 4_000}

SCRIPT = PAYLOADS["script"]
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"

BODY_METHODS = ("post", "put", "patch")
FieldPath = tuple[str | int, ...]
# Builds one valid request: (url, JSON body). Called again after every acceptance.
Prepare = Callable[[], tuple[str, dict[str, Any]]]


def dotted(path: FieldPath) -> str:
    """`reporter.name`, `lines[0].item_code`: how a failure names a field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- the schema -------------------------------------------------------------------------


def _resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: Mapping[str, Any] = node
    return resolved


def string_paths(
    spec: Mapping[str, Any], schema: Mapping[str, Any], prefix: FieldPath = (), depth: int = 0
) -> list[FieldPath]:
    """Every path to a string in a body of `schema`: nested objects, the first element of
    arrays, every branch of a union. Enums, dates and ids are strings on the wire too."""
    if depth > 8:  # a recursive model would loop; none of ours is this deep
        return []
    schema = _resolve(spec, schema)
    found: list[FieldPath] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, ()):
            found += string_paths(spec, branch, prefix, depth + 1)
    kind = schema.get("type")
    if kind == "string" or ("enum" in schema and kind is None) or "const" in schema:
        found.append(prefix)
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += string_paths(spec, sub, (*prefix, name), depth + 1)
    if kind == "array" and "items" in schema:
        found += string_paths(spec, schema["items"], (*prefix, 0), depth + 1)
    unique: list[FieldPath] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def body_schema(operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON request body schema of an OpenAPI operation, if it takes one."""
    content = operation.get("requestBody", {}).get("content", {})
    json_body = content.get("application/json")
    return None if json_body is None else json_body["schema"]


def json_operations(app: FastAPI) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """("POST /reports", body schema) of every operation that reads a JSON body."""
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method not in BODY_METHODS:
                continue
            schema = body_schema(operation)
            if schema is not None:
                yield f"{method.upper()} {path}", schema


def string_query_parameters(app: FastAPI) -> Iterator[tuple[str, str, bool]]:
    """(path, name, required) of every string query parameter of a GET without path
    parameters (those need ids; their bodies are what the body walk is about)."""
    spec = app.openapi()
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for parameter in get.get("parameters", ()):
            if parameter["in"] != "query":
                continue
            if string_paths(spec, parameter.get("schema", {})):
                yield path, parameter["name"], bool(parameter.get("required"))


# --- bodies -----------------------------------------------------------------------------


def has_parent(body: Any, path: FieldPath) -> bool:
    """Whether the container the last part of `path` names a slot of exists in `body`."""
    node = body
    for part in path[:-1]:
        if isinstance(part, int):
            if not isinstance(node, list) or len(node) <= part:
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict) if isinstance(path[-1], str) else isinstance(node, list)


def get_at(body: Any, path: FieldPath) -> Any:
    """The value at `path`, None when absent."""
    node = body
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def with_value(body: dict[str, Any], path: FieldPath, value: Any) -> dict[str, Any]:
    """A copy of `body` with `value` at `path`."""
    changed = copy.deepcopy(body)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def strings_in(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON document (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# --- the database -----------------------------------------------------------------------


def row_counts(runtime: ServiceRuntime) -> dict[str, int]:
    """Rows in every table of the service, in one query: it fails if a table is gone."""
    tables = runtime.metadata.sorted_tables
    query = union_all(*(select(func.count().label("n")).select_from(table) for table in tables))
    with runtime.engine.connect() as connection:
        counts = [row[0] for row in connection.execute(query)]
    return dict(zip((table.name for table in tables), counts, strict=True))


# --- the prober -------------------------------------------------------------------------


@dataclass
class Report:
    """What a walk over one service found."""

    failures: list[str] = field(default_factory=list)
    attempts: int = 0
    fields: dict[str, int] = field(default_factory=dict)  # operation -> string fields probed

    def fail(self, message: str) -> None:
        """Record one problem (the test lists them all at the end)."""
        self.failures.append(message)


def check_answer(response: Any, where: str, report: Report) -> bool:
    """Common to every answer: no 5xx, JSON, and a refusal in the `ErrorBody` shape.
    True when it is a 2xx."""
    status = response.status_code
    if status >= 500:
        report.fail(f"{where}: {status} {response.text[:300]}")
        return False
    if status == 204:
        return True
    media_type = response.headers.get("content-type", "")
    if media_type.split(";")[0] != "application/json":
        report.fail(f"{where}: {status} answered as {media_type!r}, not JSON")
        return False
    if 400 <= status < 500:
        body = response.json()
        if not (isinstance(body, dict) and isinstance(body.get("error"), str) and "detail" in body):
            report.fail(f"{where}: {status} without an ErrorBody: {response.text[:300]}")
        return False
    if not 200 <= status < 300:
        report.fail(f"{where}: unexpected {status}")
        return False
    return True


class Prober:
    """Walks the JSON operations of one service app (built without its lifespan)."""

    def __init__(self, app: FastAPI, client: TestClient, report: Report) -> None:
        self.app = app
        self.client = client
        self.runtime: ServiceRuntime = app.state.runtime
        self.spec = app.openapi()
        self.report = report
        self._counts: dict[str, int] | None = None

    def counts(self) -> dict[str, int]:
        """Row counts, remembered while nothing was accepted."""
        if self._counts is None:
            self._counts = row_counts(self.runtime)
        return self._counts

    def probe_bodies(self, preparers: Mapping[str, Sequence[Prepare]]) -> None:
        """Every JSON operation of the app, every string field, every payload."""
        declared = dict(json_operations(self.app))
        for key in sorted(set(declared) - set(preparers)):
            self.report.fail(f"{key}: no valid request is known for it (add one to the test)")
        for key in sorted(set(preparers) - set(declared)):
            self.report.fail(f"{key}: the test knows it but the app does not declare it")
        for key in sorted(set(declared) & set(preparers)):
            self._probe_operation(key, declared[key], preparers[key])

    def _probe_operation(
        self, key: str, schema: Mapping[str, Any], preparers: Sequence[Prepare]
    ) -> None:
        method = key.split(" ", 1)[0]
        paths = string_paths(self.spec, schema)
        covered: set[FieldPath] = set()
        for variant, prepare in enumerate(preparers):
            url, body = prepare()
            baseline = self.client.request(method, url, json=body)
            self._counts = None
            if not 200 <= baseline.status_code < 300:
                self.report.fail(
                    f"{key} (variant {variant}): the valid request was refused: "
                    f"{baseline.status_code} {baseline.text[:300]}"
                )
                continue
            url, body = prepare()
            for path in paths:
                if not has_parent(body, path):
                    continue
                covered.add(path)
                for name, payload in PAYLOADS.items():
                    where = f"{key} {dotted(path)} <- {name}"
                    accepted = self._attempt(
                        method, url, body, path=path, payload=payload, where=where
                    )
                    if accepted:
                        url, body = prepare()
        for path in paths:
            if path not in covered:
                self.report.fail(f"{key}: field {dotted(path)} is in no valid request")
        self.report.fields[key] = len(paths)

    def _attempt(
        self,
        method: str,
        url: str,
        body: dict[str, Any],
        *,
        path: FieldPath,
        payload: str,
        where: str,
    ) -> bool:
        before = self.counts()
        self.report.attempts += 1
        response = self.client.request(method, url, json=with_value(body, path, payload))
        accepted = check_answer(response, where, self.report)
        if accepted:
            self._counts = None
            original = get_at(body, path)
            echoed = set(strings_in(response.json())) if response.status_code != 204 else set()
            # Where the valid value came back, the payload must come back unchanged.
            if isinstance(original, str) and original in echoed and payload not in echoed:
                self.report.fail(f"{where}: accepted but not echoed verbatim")
            return True
        if response.status_code < 500:
            after = row_counts(self.runtime)
            if after != before:
                changed = {t: (before.get(t), n) for t, n in after.items() if before.get(t) != n}
                self.report.fail(
                    f"{where}: refused ({response.status_code}) but rows changed {changed}"
                )
                self._counts = after
        else:
            self._counts = None
        return False

    def probe_queries(self, defaults: Mapping[str, Mapping[str, str]], skip: set[str]) -> None:
        """Every string query parameter of the GETs without path parameters."""
        for path, name, _required in string_query_parameters(self.app):
            if path in skip:
                continue
            base = dict(defaults.get(path, {}))
            for payload_name, payload in QUERY_PAYLOADS.items():
                where = f"GET {path}?{name} <- {payload_name}"
                before = self.counts()
                self.report.attempts += 1
                response = self.client.get(path, params={**base, name: payload})
                if response.status_code >= 500:
                    self.report.fail(f"{where}: {response.status_code} {response.text[:300]}")
                    self._counts = None
                    continue
                if response.status_code >= 400:
                    check_answer(response, where, self.report)
                media_type = response.headers.get("content-type", "")
                if media_type.startswith("text/html") and SCRIPT in response.text:
                    self.report.fail(f"{where}: the page reflects the <script> tag unescaped")
                after = row_counts(self.runtime)
                if after != before:
                    self.report.fail(f"{where}: a read changed rows")
                    self._counts = after
            self.report.fields[f"GET {path}?{name}"] = 1


def screen_shows_escaped(html: str, where: str, report: Report) -> None:
    """A screen that shows a stored `<script>` must show it as text, never as a tag."""
    if SCRIPT in html:
        report.fail(f"{where}: the stored <script> tag is in the page unescaped")
    if ESCAPED_SCRIPT not in html:
        report.fail(f"{where}: the stored text is not on the page (escaped) at all")


def unique_suffix() -> Iterator[int]:
    """1, 2, 3, ...: makes each valid request's strings its own."""
    number = 0
    while True:
        number += 1
        yield number


def code_of(number: int, prefix: str) -> str:
    """A catalogue/warehouse code that matches `^[A-Z0-9][A-Z0-9_-]{1,39}$`."""
    code = f"{prefix}-{number}"
    assert re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{1,39}", code)
    return code
