"""The pieces of the production rehearsal (tests/rehearsal/test_production.py): the
services' environment read from docker-compose.yml and moved onto this machine, the
services and Caddy as process groups, a chromium that trusts Caddy's local CA, an HTTPS
client that reaches each service by its host name through the proxy, and a narrator that
prints to the terminal with timestamps even under pytest's capture."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy.engine import make_url

from shared.tansu import StoppedOnExit, free_port
from tests.support.browser import chromium_paths
from tests.support.roles import ServiceRoles

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
# The host name of each service under the office's domain (deploy/caddy/Caddyfile).
HOSTS = {
    "intake": "lapor",
    "logistics": "gudang",
    "distribution": "distribusi",
    "notify": "pantau",
}
# What the rehearsal may change in compose's environment: where things are, never how
# they behave. Each rule must be used, or compose changed under the rehearsal.
COMPOSE_KAFKA = "kafka:9092"
COMPOSE_POSTGRES = ("postgres", 5432)
CONTAINER_ROOT = "/app/"


class Narrator:
    """Lines on the terminal as the rehearsal goes, each with the time and the seconds
    since it began; pytest's capture does not swallow them (the terminal reporter's)."""

    def __init__(self, config: Any, log_path: Path) -> None:
        self.terminal = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        self.log_path = log_path
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        """One line: wall-clock time (UTC), seconds since the start, the message."""
        now = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        line = f"[rehearsal {now} +{time.monotonic() - self.started:6.1f}s] {message}"
        with self.log_path.open("a") as log:
            log.write(line + "\n")
        if self.terminal is None or self.capture is None:
            print(line, file=sys.__stderr__, flush=True)
            return
        # What capsys.disabled() does: the line reaches the terminal, not the capture.
        with self.capture.global_and_fixture_disabled():
            self.terminal.write_line(line)


def localised(
    service: str,
    env: Mapping[str, str],
    *,
    kafka_bootstrap: str,
    roles: ServiceRoles,
    port: int | None,
    root: Path,
    used: set[str],
) -> dict[str, str]:
    """Compose's environment for `service`'s container, moved onto this machine: the
    broker's and database's addresses (the database and role names carry the test's
    prefix), loopback instead of 0.0.0.0, a free port, container paths under `root`, and
    the proxy's address (here loopback). `used` collects which rules applied."""
    moved: dict[str, str] = {}
    for key, value in env.items():
        if key == "KAFKA_BOOTSTRAP_SERVERS":
            assert value == COMPOSE_KAFKA, f"{service}: {key}={value}"
            moved[key], rule = kafka_bootstrap, "kafka"
        elif key.endswith("_DATABASE_URL"):
            owner = key.removesuffix("_DATABASE_URL").lower()
            url = make_url(value)
            assert (url.host, url.port) == COMPOSE_POSTGRES, f"{service}: {key}"
            # Each database is reached as its own role, with the password the operator set.
            assert url.username == url.database == owner, f"{service}: {key} is not {owner}'s"
            assert url.password == roles.passwords[owner], f"{service}: {key}'s password"
            moved[key], rule = roles.url(owner), "postgres"
        elif key.endswith("_HOST") and value == "0.0.0.0":
            moved[key], rule = "127.0.0.1", "loopback"
        elif key == f"{service.upper()}_PORT" and port is not None:
            moved[key], rule = str(port), "port"
        elif value.startswith(CONTAINER_ROOT):
            moved[key], rule = str(root / value.removeprefix(CONTAINER_ROOT)), "paths"
        elif key == "DINSOS_FORWARDED_ALLOW_IPS":
            # The proxy runs on loopback here, as every service does.
            moved[key], rule = "127.0.0.1", "proxy-address"
        else:
            moved[key], rule = value, ""
        if rule:
            used.add(rule)
    return moved


def base_environment() -> dict[str, str]:
    """What a process needs from this machine that a container's image would give it."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "JAVA_HOME")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def compose_command(command: Sequence[str]) -> list[str]:
    """Compose's `command` run by this interpreter (the image's `python`)."""
    assert command[0] == "python", command
    return [sys.executable, *command[1:]]


@dataclass
class GroupProcess(StoppedOnExit):
    """A process started in its own process group, so stopping it stops its children."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again), its output appended to its log."""
        log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def running(self) -> bool:
        """Whether it has been started and not exited."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 3000) -> str:
        """The end of its log, for a failure's message."""
        return self.log_path.read_text(errors="replace")[-characters:]

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to the group (as `docker stop`), SIGKILL after `timeout_s`."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            process.wait()


@dataclass
class ServiceGroup(StoppedOnExit):
    """Processes stopped together, in reverse order of start, however the test ends."""

    members: dict[str, GroupProcess] = field(default_factory=dict)

    def add(self, member: GroupProcess) -> GroupProcess:
        """Start `member` and keep it to stop later."""
        self.members[member.name] = member
        member.start()
        return member

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to every member still running at once (as `docker compose down`), then
        wait for each; SIGKILL whatever has not stopped after `timeout_s`."""
        running = [m for m in self.members.values() if m.running() and m.process is not None]
        for member in running:
            assert member.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(member.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for member in running:
            assert member.process is not None
            try:
                member.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                member.stop(timeout_s=0.1)


def wait_ready(member: GroupProcess, url: str, *, timeout_s: float = 90.0) -> None:
    """Poll `url` (a /readyz, as compose's healthcheck) until 200; fail with the log if
    the process exits or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not member.running():
            raise RuntimeError(f"{member.name} exited:\n{member.log_tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{member.name} not ready in {timeout_s}s:\n{member.log_tail()}")


@dataclass
class Proxy:
    """Caddy on loopback ports with its local CA, run from the Caddyfile compose mounts."""

    domain: str
    http_port: int
    https_port: int
    data_home: Path
    member: GroupProcess

    @property
    def root_certificate(self) -> Path:
        """The local CA's root, which the office's devices (here chromium) trust."""
        return self.data_home / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def host(self, service: str) -> str:
        """e.g. lapor.dinsos.test"""
        return f"{HOSTS[service]}.{self.domain}"

    def url(self, service: str, path: str = "/") -> str:
        """The HTTPS address a browser uses for `service`."""
        return f"https://{self.host(service)}:{self.https_port}{path}"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts Caddy's local CA only."""
        return ssl.create_default_context(cafile=str(self.root_certificate))

    def client(self, service: str, token: str | None = None) -> httpx.Client:
        """An HTTPS client of `service` through the proxy: connects to loopback, says the
        service's host name in SNI and Host, verifies the certificate against the CA."""
        headers = {"Host": f"{self.host(service)}:{self.https_port}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.https_port}",
            headers=headers,
            transport=_NamedHostTransport(self.host(service), verify=self.ssl_context()),
            timeout=20,
        )


class _NamedHostTransport(httpx.HTTPTransport):
    """Sends the service's host name in TLS's SNI (and checks the certificate against it)
    while connecting to 127.0.0.1: this machine has no DNS entry for the office's names."""

    def __init__(self, server_name: str, **options: Any) -> None:
        super().__init__(**options)
        self.server_name = server_name

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions["sni_hostname"] = self.server_name
        return super().handle_request(request)


def caddy_environment(
    proxy_env: Mapping[str, str],
    *,
    http_port: int,
    https_port: int,
    admin_port: int,
    upstreams: Mapping[str, int],
    home: Path,
) -> dict[str, str]:
    """Compose's environment of the proxy, plus the loopback ports and upstreams the
    Caddyfile takes from the environment (compose's values are its defaults)."""
    return {
        **base_environment(),
        **proxy_env,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "DINSOS_HTTP_PORT": str(http_port),
        "DINSOS_HTTPS_PORT": str(https_port),
        "DINSOS_PROXY_ADMIN": f"127.0.0.1:{admin_port}",
        **{
            f"DINSOS_UPSTREAM_{service.upper()}": f"127.0.0.1 {port}"
            for service, port in upstreams.items()
        },
    }


def start_proxy(
    group: ServiceGroup,
    proxy_env: Mapping[str, str],
    upstreams: Mapping[str, int],
    root: Path,
) -> Proxy:
    """Caddy with compose's Caddyfile and environment, on free loopback ports; returns once
    every service answers through it over HTTPS, verified against the local CA."""
    home = root / "caddy"
    home.mkdir(parents=True, exist_ok=True)
    env = caddy_environment(
        proxy_env,
        http_port=free_port(),
        https_port=free_port(),
        admin_port=free_port(),
        upstreams=upstreams,
        home=home,
    )
    member = group.add(
        GroupProcess(
            name="caddy",
            command=["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            cwd=home,
            log_path=root / "caddy.log",
        )
    )
    proxy = Proxy(
        domain=env["DINSOS_DOMAIN"],
        http_port=int(env["DINSOS_HTTP_PORT"]),
        https_port=int(env["DINSOS_HTTPS_PORT"]),
        data_home=home / "data",
        member=member,
    )
    deadline = time.monotonic() + 60
    waiting = set(upstreams)
    while waiting:
        if not member.running():
            raise RuntimeError(f"caddy exited:\n{member.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not served through caddy: {sorted(waiting)}\n{member.log_tail()}")
        if proxy.root_certificate.exists():
            for service in sorted(waiting):
                try:
                    with proxy.client(service) as client:
                        if client.get("/livez").status_code == 200:
                            waiting.discard(service)
                except (httpx.HTTPError, ssl.SSLError):
                    pass
        time.sleep(0.2)
    return proxy


def trusting_chromium(proxy: Proxy, home: Path) -> WebDriver:
    """Headless chromium (phone-sized) that trusts the proxy's local CA as an office's
    devices would: the root is added to the NSS database chromium reads on Linux
    ($HOME/.pki/nssdb), and the office's host names resolve to loopback."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    for command in (
        ["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"],
        [
            "certutil",
            "-d",
            f"sql:{nssdb}",
            "-A",
            "-t",
            "C,,",
            "-n",
            "Caddy local CA (rehearsal)",
            "-i",
            str(proxy.root_certificate),
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("chromium/chromedriver missing: run the suite through `make test`")
    binary, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=412,915",
        f"--user-data-dir={home / 'chromium-profile'}",
        f"--host-resolver-rules=MAP *.{proxy.domain} 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # chromedriver starts chromium with its own environment: HOME points it at the NSS db.
    service = Service(executable_path=driver_path, env={**os.environ, "HOME": str(home)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver
