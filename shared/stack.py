"""The whole system on one machine: a broker (Tansu unless the caller brings one, e.g.
Apache Kafka from shared/apache_kafka.py) plus the four services as separate processes.

`python -m shared.stack` is the local run (`make run`): it starts everything on the
embedded defaults, loads demo data, prints where to look and stops everything cleanly on
Ctrl-C. The end-to-end tests and the benchmark start the same stack with their own ports,
databases and clock.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, Self

import httpx

from shared.apache_kafka import SERVICE_ENV as APACHE_KAFKA_SERVICE_ENV
from shared.apache_kafka import ApacheKafka
from shared.tansu import StoppedOnExit, TansuBroker, broker_version, port_to_keep

SERVICES = ("intake", "logistics", "distribution", "notify")
DEFAULT_PORTS = {"intake": 8001, "logistics": 8002, "distribution": 8003, "notify": 8004}


class Broker(Protocol):
    """What the stack needs of a broker: where clients reach it, and how to stop it."""

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        ...

    def stop(self) -> None:
        """Stop the broker."""
        ...


@dataclass
class ServiceProcess:
    """One running service."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    @property
    def url(self) -> str:
        """Base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack(StoppedOnExit):
    """A broker and the four services, each its own OS process."""

    broker: Broker
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    # A broker the caller brought outlives the stack: the caller stops it.
    owns_broker: bool = True

    def url(self, service: str) -> str:
        """Base URL of a service."""
        return self.services[service].url

    @classmethod
    def start(
        cls,
        *,
        data_dir: Path,
        broker_port: int | None = None,
        ports: Mapping[str, int] | None = None,
        database_urls: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        log_dir: Path | None = None,
        health_timeout_s: float = 90.0,
        broker: Broker | None = None,
    ) -> Self:
        """Start the broker (unless `broker` is given: a running one the caller stops),
        then every service, and wait until all report healthy."""
        data_dir.mkdir(parents=True, exist_ok=True)
        log_dir = log_dir or data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        owns_broker = broker is None
        if broker is None:
            broker_log = (log_dir / "tansu.log").open("wb")
            broker = TansuBroker.start(port=broker_port or port_to_keep(), log=broker_log)
        stack = cls(broker=broker, log_dir=log_dir, owns_broker=owns_broker)
        try:
            for name in SERVICES:
                port = (ports or {}).get(name) or port_to_keep()
                env = {
                    **os.environ,
                    # The local run and the system tests run without sign-in unless the
                    # caller turns it on; production refuses to start that way.
                    "DINSOS_AUTH_REQUIRED": "false",
                    "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                    "DINSOS_DATA_DIR": str(data_dir),
                    f"{name.upper()}_PORT": str(port),
                    **(extra_env or {}),
                    **(service_env or {}).get(name, {}),
                }
                if database_urls and name in database_urls:
                    env[f"{name.upper()}_DATABASE_URL"] = database_urls[name]
                stack.services[name] = _spawn(name, port, env, log_dir / f"{name}.log")
            stack.wait_healthy(health_timeout_s)
        except BaseException:
            stack.stop()
            raise
        return stack

    def kill(self, name: str) -> None:
        """SIGKILL one service, as a crash would: no draining, no clean shutdown."""
        process = self.services[name].process
        process.kill()
        process.wait()

    def pause(self, name: str) -> None:
        """SIGSTOP one service: it holds its connections and does nothing (a hung PC)."""
        self.services[name].process.send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """SIGCONT a paused service."""
        self.services[name].process.send_signal(signal.SIGCONT)

    def kill_everything(self) -> None:
        """SIGKILL every service and the broker at once: the power cut of an office PC."""
        for service in self.services.values():
            if service.process.poll() is None:
                service.process.kill()
        self._tansu().kill()
        for service in self.services.values():
            service.process.wait()

    def restart_broker(self) -> None:
        """SIGKILL the broker and start an empty one on the same port (Tansu keeps
        nothing): the services stay up and find it there when they reconnect."""
        log = (self.log_dir / "tansu.log").open("ab")
        tansu = self._tansu()
        tansu.kill()
        self.broker = TansuBroker.start(port=tansu.port, log=log)

    def _tansu(self) -> TansuBroker:
        # The power-cut drills forget the broker's log, which only the in-memory Tansu
        # does by itself; Apache Kafka keeps its log on disk (shared.apache_kafka).
        if not isinstance(self.broker, TansuBroker):
            raise TypeError("this drill needs the in-memory Tansu broker")
        return self.broker

    def restart(self, *names: str, health_timeout_s: float = 90.0) -> None:
        """Start stopped or killed services again with the same port, env and database,
        all at once, and wait until they are healthy."""
        for name in names:
            old = self.services[name]
            if old.process.poll() is None:
                raise RuntimeError(f"{name} is still running")
            self.services[name] = _spawn(name, old.port, old.env, old.log_path, append=True)
        self.wait_healthy(health_timeout_s, only=names)

    def wait_healthy(self, timeout_s: float, only: tuple[str, ...] | None = None) -> None:
        """Poll every /health until 200; fail early, with its log, if a process dies."""
        deadline = time.monotonic() + timeout_s
        waiting = set(only or self.services)
        while waiting:
            for name in sorted(waiting):
                service = self.services[name]
                if service.process.poll() is not None:
                    log = service.log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited with {service.process.returncode}:\n{log}")
                try:
                    if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                        waiting.discard(name)
                except httpx.HTTPError:
                    pass
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout_s}s: {sorted(waiting)}")
            time.sleep(0.2)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every service (they drain and close), then the broker."""
        for service in self.services.values():
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for service in self.services.values():
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        if self.owns_broker:
            self.broker.stop()


def _spawn(
    name: str, port: int, env: dict[str, str], log_path: Path, *, append: bool = False
) -> ServiceProcess:
    log: IO[bytes] = log_path.open("ab" if append else "wb")
    process = subprocess.Popen(  # noqa: S603 - our own modules, fixed arguments
        [sys.executable, "-m", f"services.{name}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return ServiceProcess(name=name, port=port, process=process, env=env, log_path=log_path)


def main() -> None:
    """The local run: everything on the embedded defaults, until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run the whole system locally.")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--broker-port", type=int, default=9092)
    parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
    parser.add_argument(
        "--kafka",
        action="store_true",
        help="run Apache Kafka (production's broker, log kept in DATA_DIR/kafka) for Tansu",
    )
    args = parser.parse_args()

    from shared.demo import load_demo_data  # noqa: PLC0415 - only the local run needs it

    kafka: ApacheKafka | None = None
    if args.kafka:
        print("==> starting Apache Kafka (KRaft) ...", flush=True)
        kafka = ApacheKafka.start(args.data_dir / "kafka", port=args.broker_port)
        print(f"==> Apache Kafka {kafka.version} is up; starting the four services ...", flush=True)
    else:
        print(f"==> starting Tansu ({broker_version()}) and the four services ...", flush=True)
    try:
        stack = Stack.start(
            data_dir=args.data_dir,
            broker_port=args.broker_port,
            ports=DEFAULT_PORTS,
            broker=kafka,
            extra_env=APACHE_KAFKA_SERVICE_ENV if kafka else None,
        )
    except BaseException:
        if kafka is not None:
            kafka.stop()
        raise
    stack.owns_broker = True  # the local run stops whichever broker it started
    try:
        if not args.no_demo:
            print("==> loading demo warehouses, items and lots ...", flush=True)
            print(load_demo_data(stack.url("logistics")), flush=True)
        print(banner(stack, args.data_dir), flush=True)
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        while all(s.process.poll() is None for s in stack.services.values()):
            time.sleep(0.5)
        dead = [s.name for s in stack.services.values() if s.process.poll() is not None]
        print(
            f"!! service(s) stopped unexpectedly: {dead}; see {args.data_dir}/logs/",
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        print("\n==> stopping ...", flush=True)
    finally:
        stack.stop()
        print("==> stopped.", flush=True)


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def broker_kind(broker: Broker) -> str:
    """What the banner calls the broker."""
    if isinstance(broker, ApacheKafka):
        return f"Apache Kafka {broker.version}, on disk"
    return "Tansu, in memory"


def banner(stack: Stack, data_dir: Path) -> str:
    """Where to look, for a newcomer."""
    lines = [
        "",
        "Dinas Sosial relief logistics is running (Ctrl-C stops everything).",
        f"  broker ({broker_kind(stack.broker)})  {stack.broker.bootstrap_servers}",
    ]
    for name in SERVICES:
        lines.append(f"  {name:<13} API docs    {stack.url(name)}/docs")
    lines += [
        f"  report form (phone)       {stack.url('intake')}/lapor",
        f"  warehouse screens         {stack.url('logistics')}/ui",
        f"  field team's run          {stack.url('distribution')}/field?team=Tim%20A",
        f"  coordinator's dashboard   {stack.url('notify')}/",
        f"  evaluation report         {stack.url('notify')}/reports/view",
        f"  data and logs             {data_dir.resolve()}",
        "",
        "Sign-in is off in this local run (everyone has every role).",
        "Try one incident end to end: see README.md, 'A first incident'.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
