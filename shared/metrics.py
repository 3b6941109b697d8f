"""Prometheus metrics of one service process, at `GET /metrics` (text format).

HTTP requests are counted by route template (`/incidents/{incident_id}`, never the id)
and status, with a latency histogram; the runtime's figures (events applied and
dead-lettered, consumer lag per topic, the outbox backlog, and what a service adds, such
as notify's open clocks) are read when scraped, so a scrape costs one small read of the
database and nothing between scrapes.

Each app has its own registry: tests build many apps in one process, and the global
registry would refuse the second app's metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Paths no route matched are counted under one label: a scanner trying ten thousand
# addresses must not make ten thousand series.
UNMATCHED = "<unmatched>"
# The `figures` of the outbox and parked tables that become gauges here.
_TABLE_GAUGES = {
    "outbox_pending": "Outbox rows not yet acknowledged by the broker (the backlog).",
    "outbox_rows": "Outbox rows kept (published ones until retention removes them).",
    "parked_rows": "Events parked until the start of their case arrives.",
}


class HttpMetrics:
    """Plain ASGI middleware counting requests by method, route template and status."""

    def __init__(self, app: Any, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from a request's arrival to the start of its answer, by route template.",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def send_counted(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self.latency.labels(scope["method"], route_template(scope)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            self.requests.labels(scope["method"], route_template(scope), str(status)).inc()


def route_template(scope: Any) -> str:
    """The path template of the route that served the request (set by Starlette's
    router in the scope), or UNMATCHED."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


ExtraGauges = Callable[[], dict[str, tuple[str, float]]]


class RuntimeCollector(Collector):
    """The runtime's figures, read at each scrape."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        events = CounterMetricFamily(
            "dinsos_events",
            "Consumed events by outcome (applied, dead_lettered, duplicates, passed_over, "
            "parked, unparked, parked_given_up).",
            labels=["outcome"],
        )
        for outcome, count in runtime.outcomes.items():
            events.add_metric([outcome], count)
        yield events
        published = CounterMetricFamily(
            "dinsos_outbox_published", "Outbox rows the relay published in this process."
        )
        published.add_metric([], runtime.relay.published if runtime.relay else 0)
        yield published
        lag = GaugeMetricFamily(
            "dinsos_consumer_lag",
            "Messages on the broker not yet read by this process, per consumed topic.",
            labels=["topic"],
        )
        for topic, behind in runtime.consumer_lag().items():
            lag.add_metric([topic], behind)
        yield lag
        up = GaugeMetricFamily(
            "dinsos_database_up", "1 when the database answered this scrape's read, else 0."
        )
        try:
            tables = runtime.table_figures()
        except Exception:  # noqa: BLE001 - a scrape reports the database down, never fails
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, help_text in _TABLE_GAUGES.items():
            yield GaugeMetricFamily(f"dinsos_{name}", help_text, value=float(tables[name]))
        for name, (help_text, value) in runtime.extra_figures().items():
            yield GaugeMetricFamily(f"dinsos_{name}", help_text, value=value)


def metrics_registry(runtime: ServiceRuntime) -> CollectorRegistry:
    """A registry of this process's own metrics (no process or platform collectors:
    their names differ between systems, and an office's dashboards should not)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(RuntimeCollector(runtime))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(registry)
