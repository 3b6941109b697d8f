"""Profile one incident's work in each service with pyinstrument, in one process.

The four services run in this process on SQLite with the broker off
(`DINSOS_BROKER_ENABLED=false`): intake takes N reports, dispositions and verifications
over HTTP (FastAPI's TestClient), and the events each service writes to its outbox are
handed to the next services' own subscriptions (`Subscription.handle`, claimed and
applied in one transaction each, as their faust agents do), until no service has
anything left to announce. What the broker and faust cost is not here (bench.pipeline
measures the whole path); what is here is what our code costs: HTTP handling,
validation, the use cases, the database, the outbox and the audit trail.

pyinstrument samples one thread. The event-handling side runs in this thread; intake's
HTTP side runs in the TestClient's event loop and worker threads, so for intake each
`ServiceRuntime.run` (the transaction a route runs its use case in) is profiled in the
thread that runs it and the sessions are combined. Prints, per service, the CPU time per
incident and pyinstrument's call tree (frames under 2 % left out); `--html DIR` also
writes each profile as an interactive page.

    python -m bench.profile [--incidents 200] [--html /tmp/profiles]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
from pyinstrument.session import Session as ProfileSession

from bench.pipeline import DISPOSITION, VERIFICATION, load_stock, report_body
from services.distribution.app import create_app as create_distribution
from services.distribution.settings import DistributionSettings
from services.intake.app import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.logistics.app import create_app as create_logistics
from services.logistics.settings import LogisticsSettings
from services.notify.app import create_app as create_notify
from services.notify.settings import NotifySettings
from shared.auth import AuthSettings
from shared.contracts.union import AnyEvent, parse_event
from shared.outbox import Acknowledgement
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, MessagingSettings, ServiceSettings
from shared.topics import topic_for
from shared.unit_of_work import UnitOfWork

T = TypeVar("T")
SAMPLE_INTERVAL_S = 0.0005
SERVICES = ("intake", "logistics", "distribution", "notify")


@dataclass
class ServiceProfile:
    """The samples and the CPU time one service's work took."""

    sessions: list[ProfileSession] = field(default_factory=list)
    cpu_s: float = 0.0
    applied: Counter[str] = field(default_factory=Counter)

    def combined(self) -> ProfileSession | None:
        if not self.sessions:
            return None
        session = self.sessions[0]
        for more in self.sessions[1:]:
            session = ProfileSession.combine(session, more)
        return session


@contextmanager
def profiled(into: ServiceProfile) -> Iterator[None]:
    """Sample this thread and count its CPU time into `into`."""
    profiler = Profiler(interval=SAMPLE_INTERVAL_S, async_mode="disabled")
    started = time.thread_time()
    profiler.start()
    try:
        yield
    finally:
        into.sessions.append(profiler.stop())
        into.cpu_s += time.thread_time() - started


def profile_each_transaction(runtime: ServiceRuntime, into: ServiceProfile) -> None:
    """Profile every `runtime.run` in the thread that runs it (a route's worker thread)."""
    run = runtime.run
    lock = threading.Lock()

    def profiled_run(work: Callable[[UnitOfWork], T]) -> T:
        local = ServiceProfile()
        with profiled(local):
            result = run(work)
        with lock:
            into.sessions += local.sessions
            into.cpu_s += local.cpu_s
        return result

    runtime.run = profiled_run  # type: ignore[method-assign]  # the bench wraps this instance's own method


def settings(cls: type[ServiceSettings], data: Path, name: str) -> Any:
    return cls(
        database_url=f"sqlite:///{data / name}.sqlite3",
        common=CommonSettings(environment="test"),
        auth=AuthSettings(required=False),
        messaging=MessagingSettings(broker_enabled=False),
    )


def runtime_of(app: FastAPI) -> ServiceRuntime:
    runtime = app.state.runtime
    if not isinstance(runtime, ServiceRuntime):
        raise TypeError("app.state.runtime is not a ServiceRuntime")
    return runtime


def drain_outbox(runtime: ServiceRuntime) -> list[AnyEvent]:
    """What `runtime` announced since the last drain, in order; marked as sent."""
    rows = runtime.run(lambda uow: runtime.messaging.pending(uow.session, limit=100_000))
    sequences = [row.sequence for row in rows]

    def forget(uow: UnitOfWork) -> None:
        runtime.messaging.mark_published(
            uow.session,
            [Acknowledgement(sequence=s, partition=0, offset=s) for s in sequences],
        )

    if sequences:
        runtime.run(forget)
    return [parse_event(row.payload) for row in rows]


def deliver(event: AnyEvent, runtime: ServiceRuntime, profile: ServiceProfile) -> None:
    """Apply `event` as `runtime`'s agent for its topic would."""
    topic = topic_for(event).name
    for subscription in runtime.subscriptions:
        if subscription.topic.name != topic or not subscription.wants(event):
            continue
        with profiled(profile):
            runtime.claim_and_apply(f"{runtime.name}:{topic}", subscription.handle, event)
        profile.applied[event.event_type] += 1


def run(incidents: int, html: Path | None) -> None:
    profiles = {name: ServiceProfile() for name in SERVICES}
    with tempfile.TemporaryDirectory(prefix="dinsos-profile-") as tmp:
        data = Path(tmp)
        apps = {
            "intake": create_intake(settings(IntakeSettings, data, "intake")),
            "logistics": create_logistics(settings(LogisticsSettings, data, "logistics")),
            "distribution": create_distribution(
                settings(DistributionSettings, data, "distribution")
            ),
            "notify": create_notify(settings(NotifySettings, data, "notify")),
        }
        clients = {name: TestClient(app) for name, app in apps.items()}
        for client in clients.values():
            client.__enter__()
        try:
            runtimes = {name: runtime_of(app) for name, app in apps.items()}
            load_stock(clients["logistics"], incidents + 10)
            for name in SERVICES:
                drain_outbox(runtimes[name])  # the stock's own events are not an incident's
            profile_each_transaction(runtimes["intake"], profiles["intake"])
            intake = clients["intake"]
            for _ in range(incidents):
                case_id = intake.post("/reports", json=report_body()).json()["id"]
                intake.post(f"/incidents/{case_id}/dispositions", json=DISPOSITION)
                verified = intake.post(f"/incidents/{case_id}/verification", json=VERIFICATION)
                verified.raise_for_status()
            waiting = {name: drain_outbox(runtimes[name]) for name in SERVICES}
            while any(waiting.values()):
                for producer, events in waiting.items():
                    for event in events:
                        for consumer in SERVICES:
                            if consumer != producer:
                                deliver(event, runtimes[consumer], profiles[consumer])
                waiting = {name: drain_outbox(runtimes[name]) for name in SERVICES}
        finally:
            for client in clients.values():
                client.__exit__(None, None, None)
    report(profiles, incidents, html)


def report(profiles: dict[str, ServiceProfile], incidents: int, html: Path | None) -> None:
    total = sum(p.cpu_s for p in profiles.values())
    print(f"CPU per incident, {incidents} incidents, in one process (no broker, no faust):")
    for name, profile in profiles.items():
        applied = ", ".join(
            f"{kind} {count / incidents:g}" for kind, count in profile.applied.most_common()
        )
        print(f"  {name:<13} {profile.cpu_s * 1000 / incidents:6.1f} ms  {applied}")
    print(f"  {'all four':<13} {total * 1000 / incidents:6.1f} ms")
    for name, profile in profiles.items():
        session = profile.combined()
        if session is None:
            continue
        print(f"\n=== {name} " + "=" * 60)
        text = ConsoleRenderer(unicode=True, color=False, time="percent_of_total")
        print(text.render(session))
        if html is not None:
            html.mkdir(parents=True, exist_ok=True)
            (html / f"{name}.html").write_text(HTMLRenderer().render(session))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--html", type=Path, default=None, help="write HTML profiles here")
    args = parser.parse_args()
    run(args.incidents, args.html)


if __name__ == "__main__":
    main()
