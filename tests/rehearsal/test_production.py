"""The production rehearsal: the office's server as docker-compose.yml describes it, on
this machine without Docker, and one incident taken through it in a browser.

Apache Kafka (the compose image's version, from Maven Central's jars), PostgreSQL with
one role per service made by deploy/postgres-init.sh, compose's `migrate` step, the four
services as separate processes with the environment read from docker-compose.yml itself
(only addresses, ports and container paths moved onto loopback; the operator's secrets
from `dinsos-admin keys generate`), and Caddy in front with deploy/caddy/Caddyfile and its
local CA, which chromium trusts through its NSS database (no --ignore-certificate-errors).

In headless chromium, over HTTPS through the proxy, each user signs in on their screen;
a field team files a report on /lapor, the coordinator verifies it on /koordinator, the
warehouse signs the pick list and releases on /ui/picking, the field team takes the
delivery to the door on /field (the assignment to the team alone is an API call: no
screen assigns a relief delivery yet); notify mails the stopped clock through the office's
relay over STARTTLS after a login. Midway Kafka
is restarted on its own log, then each service in turn. At the end every effect happened
exactly once and `dinsos-admin audit verify` passes on each service's database. The
terminal shows the broker's version, the HTTPS sign-ins, each step and each restart."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from shared.admin.__main__ import main as admin_main
from shared.apache_kafka import ApacheKafka
from shared.auth import TOKEN_COOKIE
from shared.clock import office_today
from shared.contracts.union import parse_event
from shared.stack import SERVICES
from shared.tansu import free_port, port_to_keep
from shared.topics import DELIVERIES, DISPATCHES, INCIDENTS, RESPONSE_CLOCKS
from tests.support.browser import click_and_load, csp_violations
from tests.support.compose import compose_file, service_environment
from tests.support.databases import postgres_admin_url
from tests.support.kafka import collect
from tests.support.rehearsal import (
    GroupProcess,
    Narrator,
    Proxy,
    ServiceGroup,
    base_environment,
    compose_command,
    localised,
    start_proxy,
    trusting_chromium,
    wait_ready,
)
from tests.support.roles import ServiceRoles
from tests.support.smtp_relay import (
    RELAY_PASSWORD,
    RELAY_USER,
    office_login,
    office_relay_certificates,
)
from tests.support.stack import ok, wait_for

pytestmark = pytest.mark.rehearsal

DOMAIN = "dinsos.test"  # the office's domain here (.test never resolves on the internet)
SITE = {"lat": -0.4230, "lon": 116.9860}  # Sukarame, Tenggarong
ARRIVAL = {"lat": -0.4236, "lon": 116.9867}
WAREHOUSE = {"lat": -0.4186, "lon": 116.9864}
NEEDED = 12
TEAM = "Tagana Regu 2"
# The office's people, made with `dinsos-admin users add` at production's hashing cost.
USERS = {
    "tagana": ("field_team", TEAM),  # a team's account is named as the team
    "kabid": ("coordinator", "Kabid Linjamsos"),
    "gudang": ("warehouse", "Rina Gudang"),
}
PASSWORD = "Latihan-produksi-2026!"
# The story of one incident on the topics, each event once.
STORY = {
    INCIDENTS.name: ["IncidentReported", "DispositionRecorded", "IncidentVerified"],
    DISPATCHES.name: ["DispatchPlanned", "DispatchReleased"],
    DELIVERIES.name: [
        "DeliveryScheduled",
        "DeliveryAssigned",
        "DeliveryDeparted",
        "DeliveryArrived",
        "DeliveryCompleted",
    ],
    RESPONSE_CLOCKS.name: ["ResponseClockStopped"],
}


class Mailbox:
    """The office's mail relay, here aiosmtpd on loopback with STARTTLS (a certificate of
    the office's own CA) and a required login: what notify sent, and how it came."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        # For each message: whether it came over TLS, and the account that logged in.
        self.sessions: list[tuple[bool, str | None]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        login = session.auth_data if session.authenticated else None
        over_tls = server.transport is not None and server.transport.get_extra_info("ssl_object")
        self.sessions.append((bool(over_tls), login.decode() if isinstance(login, bytes) else None))
        self.messages.append(envelope)
        return "250 OK"


@dataclass
class Office:
    """Everything the rehearsal started, and how to reach it."""

    root: Path
    narrator: Narrator
    kafka: ApacheKafka
    roles: ServiceRoles
    operator_env: dict[str, str]
    services: dict[str, GroupProcess]
    ports: dict[str, int]
    proxy: Proxy
    mailbox: Mailbox
    restarts: list[str] = field(default_factory=list)
    # (service, user): the access token of the user's sign-in on that service's screen.
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def say(self, message: str) -> None:
        """Print one line of the rehearsal's log."""
        self.narrator.say(message)

    def ready(self, service: str) -> None:
        """Wait for `service`'s /readyz, as compose's healthcheck asks it."""
        wait_ready(self.services[service], f"http://127.0.0.1:{self.ports[service]}/readyz")

    def restart_service(self, service: str) -> None:
        """`docker compose restart <service>`: SIGTERM, wait, start, wait until ready."""
        started = time.monotonic()
        member = self.services[service]
        member.stop()
        stopped = time.monotonic() - started
        member.start()
        self.ready(service)
        took = time.monotonic() - started
        self.restarts.append(f"{service} {took:.1f}s")
        self.say(
            f"RESTART {service}: stopped (SIGTERM) in {stopped:.1f}s, ready again (/readyz) "
            f"{took - stopped:.1f}s later"
        )

    def restart_kafka(self) -> None:
        """`docker compose restart kafka`: a controlled shutdown, the same log directory."""
        started = time.monotonic()
        self.kafka.restart()
        took = time.monotonic() - started
        self.restarts.append(f"kafka {took:.1f}s")
        self.say(
            f"RESTART Apache Kafka: stopped and serving again on {self.kafka.log_dir} in "
            f"{took:.1f}s"
        )


# `dinsos-admin audit verify --service <s>` for each service, in one interpreter with the
# four services' environments (each names its own database; the audit key is the same).
VERIFY_AUDIT = """
import sys
from shared.admin.__main__ import main
sys.exit(max(main(["audit", "verify", "--service", service]) for service in sys.argv[1:]))
"""


def verify_audit_chains(office: Office) -> list[str]:
    """What `dinsos-admin audit verify` says of each service's database; the test fails
    with its output unless every chain is intact."""
    env: dict[str, str] = {}
    for member in office.services.values():
        env |= member.env
    result = subprocess.run(
        [sys.executable, "-c", VERIFY_AUDIT, *SERVICES],
        env=env,
        cwd=office.root,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = result.stdout.strip().splitlines()
    assert len(verdicts) == len(SERVICES), verdicts
    return verdicts


# `dinsos-admin users add --password-stdin` for each user, in one interpreter: three
# starts of the CLI would cost this 2-core machine seconds for nothing.
ADD_USERS = """
import io, json, sys
from shared.admin.__main__ import main
users, password = json.loads(sys.argv[1]), sys.argv[2]
for username, (role, name) in users.items():
    sys.stdin = io.StringIO(password + "\\n")
    arguments = ["users", "add", "--password-stdin", "--office", "kukar", "--role", role]
    if main([*arguments, "--name", name, username]) != 0:
        sys.exit(1)
"""


def add_users(member: GroupProcess) -> None:
    """The office's users in the users file compose mounts, at production's hash cost."""
    result = subprocess.run(
        [sys.executable, "-c", ADD_USERS, json.dumps(USERS), PASSWORD],
        env=member.env,
        cwd=member.cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.lower().count("added ") == len(USERS), result.stdout


def generated_keys() -> dict[str, str]:
    """The operator's secrets, as `dinsos-admin keys generate` prints them for .env (its
    entry point called here: a new interpreter would only cost start-up time)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert admin_main(["keys", "generate"]) == 0
    return dict(line.split("=", 1) for line in printed.getvalue().splitlines() if "=" in line)


@pytest.fixture(scope="module")
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    """The office's server, started in compose's order; stopped however the test ends."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.fail("TEST_POSTGRES_URL is not set: `make test` starts PostgreSQL")
    root = tmp_path_factory.mktemp("rehearsal")
    narrator = Narrator(request.config, root / "rehearsal.log")
    cpu_at_start = cpu_seconds()
    narrator.say(f"production rehearsal in {root}")
    compose = compose_file()
    operator_env = {**generated_keys(), "DINSOS_DOMAIN": DOMAIN}
    narrator.say(f"operator's .env: {sorted(operator_env)} (dinsos-admin keys generate)")
    with contextlib.ExitStack() as stack:
        mailbox = Mailbox()
        relay_certificates = office_relay_certificates(root / "smtp-relay")
        mail_server = Controller(
            mailbox,
            hostname="127.0.0.1",
            port=free_port(),
            tls_context=relay_certificates.server_context,
            require_starttls=True,
            auth_required=True,
            authenticator=office_login,
        )
        mail_server.start()
        stack.callback(mail_server.stop)
        # The office's relay in the operator's .env, as docs/notify.md asks; compose's
        # default security (STARTTLS) stays.
        operator_env |= {
            "NOTIFY_SMTP_HOST": "127.0.0.1",
            "NOTIFY_SMTP_PORT": str(mail_server.port),
            "NOTIFY_SMTP_USERNAME": RELAY_USER,
            "NOTIFY_SMTP_PASSWORD": RELAY_PASSWORD,
            "NOTIFY_SMTP_CA_FILE": str(relay_certificates.ca_file),
        }
        narrator.say(
            f"mail relay: aiosmtpd on 127.0.0.1:{mail_server.port}, STARTTLS with an office CA's "
            "certificate and a login required; NOTIFY_SMTP_* added to the operator's .env"
        )
        group = stack.enter_context(ServiceGroup())
        passwords = {s: operator_env[f"{s.upper()}_DB_PASSWORD"] for s in SERVICES}
        roles = stack.enter_context(ServiceRoles.create(admin_url, passwords=passwords))
        narrator.say(
            "PostgreSQL: deploy/postgres-init.sh made roles "
            + ", ".join(roles.name(s) for s in SERVICES)
            + " (no superuser, each owning only its database)"
        )
        ports = {service: port_to_keep() for service in SERVICES}
        used: set[str] = set()
        bootstrap: list[str] = []

        def environment(service: str, port: int | None) -> dict[str, str]:
            return {
                **base_environment(),
                **localised(
                    service,
                    service_environment(compose, service, operator_env),
                    kafka_bootstrap=bootstrap[0] if bootstrap else "",
                    roles=roles,
                    port=port,
                    root=root / "app",
                    used=used,
                ),
            }

        # The one-shot migrate step, as compose runs it: it waits for PostgreSQL only, so
        # it runs while Kafka starts.
        migrate = group.add(
            GroupProcess(
                name="migrate",
                command=compose_command(compose["services"]["migrate"]["command"]),
                env=environment("migrate", None),
                cwd=root,
                log_path=root / "migrate.log",
            )
        )
        started = time.monotonic()
        kafka = stack.enter_context(ApacheKafka.start(root / "kafka"))
        bootstrap.append(kafka.bootstrap_servers)
        narrator.say(f"broker ready in {time.monotonic() - started:.1f}s: {kafka_banner(kafka)}")
        assert migrate.process is not None
        assert migrate.process.wait(timeout=180) == 0, migrate.log_tail()
        narrator.say(
            f"migrate: `{' '.join(migrate.command[1:])}` done, each schema by its own role"
        )

        workdir = root / "app"
        (workdir / "users").mkdir(parents=True, exist_ok=True)
        (workdir / "photos").mkdir(parents=True, exist_ok=True)
        services: dict[str, GroupProcess] = {}
        started = time.monotonic()
        for service in SERVICES:
            env = environment(service, ports[service])
            services[service] = group.add(
                GroupProcess(
                    name=service,
                    command=compose_command(compose["services"][service]["command"]),
                    env=env,
                    cwd=workdir,
                    log_path=root / f"{service}.log",
                )
            )
        # The users file is read at each sign-in: filled while the services start.
        add_users(services["intake"])
        narrator.say(f"users file: {sorted(USERS)} added with `dinsos-admin users add`")
        for service in SERVICES:
            wait_ready(services[service], f"http://127.0.0.1:{ports[service]}/readyz")
        assert used == {"kafka", "postgres", "loopback", "port", "paths", "proxy-address"}, used
        narrator.say(
            f"four services ready (/readyz) in {time.monotonic() - started:.1f}s, production "
            "mode, environment from docker-compose.yml"
        )
        proxy_env = service_environment(compose, "proxy", operator_env)
        proxy = start_proxy(group, proxy_env, ports, root)
        narrator.say(
            f"Caddy {caddy_version()} serving https://{{lapor,gudang,distribusi,pantau}}.{DOMAIN}"
            f":{proxy.https_port} with its local CA ({proxy_env['DINSOS_TLS']})"
        )
        yield Office(
            root=root,
            narrator=narrator,
            kafka=kafka,
            roles=roles,
            operator_env=operator_env,
            services=services,
            ports=ports,
            proxy=proxy,
            mailbox=mailbox,
        )
        # The services and the proxy first, while the broker and databases they hold
        # connections to are still there; then the broker, then the roles and databases.
        stopping = time.monotonic()
        group.stop()
    narrator.say(
        f"everything stopped in {time.monotonic() - stopping:.1f}s; the rehearsal took "
        f"{time.monotonic() - narrator.started:.1f}s and {cpu_seconds() - cpu_at_start:.0f} "
        "CPU seconds (pytest, the services, Kafka, Caddy, chromium)"
    )


def cpu_seconds() -> float:
    """CPU time of this process and of every child it has waited for (and theirs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def kafka_banner(kafka: ApacheKafka) -> str:
    """The broker's version as it reports it at start (its AppInfoParser log line)."""
    lines = kafka.output_path.read_text(errors="replace").splitlines()
    reported = [line for line in lines if "Kafka version:" in line or "Kafka commitId:" in line]
    assert reported, "the broker's log has no version line"
    version = reported[0].split("Kafka version:")[1].split("(")[0].strip()
    assert version == kafka.version
    return f"Apache Kafka {version} (KRaft) says: " + " | ".join(
        line.split("] ", 1)[-1] for line in reported[:2]
    )


def caddy_version() -> str:
    result = subprocess.run(
        ["caddy", "version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.split()[0]


def sign_in(office: Office, browser: WebDriver, service: str, user: str, then: str) -> str:
    """Sign in on `service`'s screen through the proxy; the access token its cookie holds."""
    proxy = office.proxy
    # Another person, as on their own device: no cookie of whoever signed in before (the
    # refresh cookie, path /auth, would resume their session; WebDriver cannot see it).
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get(proxy.url(service, f"/login?next={then}"))
    assert browser.current_url.startswith("https://")
    browser.find_element(By.ID, "username").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    cookie = browser.get_cookie(TOKEN_COOKIE)
    assert cookie is not None, f"{user} not signed in on {service}: {browser.current_url}"
    assert cookie["secure"] is True and cookie["httpOnly"] is True
    assert cookie["domain"] == proxy.host(service)  # host-only: this service's alone
    office.say(
        f"HTTPS sign-in: {user} on {proxy.url(service, then)} (Secure, HttpOnly cookie for "
        f"{cookie['domain']}; certificate from Caddy's local CA, trusted)"
    )
    office.tokens[service, user] = str(cookie["value"])
    return office.tokens[service, user]


def api_token(office: Office, service: str, user: str) -> str:
    """An access token of `user` on `service` for API calls, through the proxy."""
    with office.proxy.client(service) as anonymous:
        answer = ok(anonymous.post("/auth/token", data={"username": user, "password": PASSWORD}))
    return str(answer["access_token"])


def stock_the_warehouse(office: Office) -> str:
    """A warehouse near the site with enough of one item (through the proxy's API, as the
    warehouse keeper's token); the item's code."""
    token = api_token(office, "logistics", "gudang")
    item = f"RICE-{uuid.uuid4().hex[:6].upper()}"
    with office.proxy.client("logistics", token) as logistics:
        ok(
            logistics.post(
                "/warehouses",
                json={"code": "GDG-TGR", "name": "Gudang Tenggarong", "location": WAREHOUSE},
            ),
            201,
        )
        ok(logistics.post("/items", json={"code": item, "name": "Beras 5 kg", "unit": "sak"}), 201)
        ok(
            logistics.post(
                "/lots",
                json={
                    "item_code": item,
                    "warehouse_code": "GDG-TGR",
                    "quantity": 100,
                    "received_on": (office_today() - timedelta(days=10)).isoformat(),
                    "expires_on": (office_today() + timedelta(days=300)).isoformat(),
                    "source": "PO-001/2026",
                    "received_by": "Rina",
                },
            ),
            201,
        )
    return item


def file_report_on_lapor(office: Office, browser: WebDriver) -> str:
    """The field team's phone form, through the proxy: its service worker runs (HTTPS),
    the report is sent; the incident's id."""
    sign_in(office, browser, "intake", "tagana", "/lapor")
    browser.set_script_timeout(30)
    browser.execute_async_script(
        "navigator.serviceWorker.ready.then(() => arguments[arguments.length - 1]())"
    )
    office.say("lapor: the offline form's service worker is active (a secure context)")
    browser.find_element(By.ID, "reporter-name").send_keys("Tim Tagana Tenggarong")
    Select(browser.find_element(By.ID, "hazard")).select_by_value("flood")
    for box_id, value in (
        ("lat", str(SITE["lat"])),
        ("lon", str(SITE["lon"])),
        ("households", "8"),
        ("people", "31"),
    ):
        box = browser.find_element(By.ID, box_id)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "submit").click()
    sent = wait_for(
        lambda: browser.execute_script(
            "const li = document.querySelector('#outbox li[data-state=sent]');"
            "return li && li.dataset.incident"
        ),
        timeout_s=30,
        what="the report is sent",
    )
    office.say(f"STEP report filed on /lapor: incident {sent}")
    return str(sent)


def verify_incident(office: Office, browser: WebDriver, incident_id: str, item: str) -> None:
    """The coordinator, on intake's inbox, opens the report and verifies it with what to
    send; the decision is shown in place."""
    sign_in(office, browser, "intake", "kabid", "/koordinator")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, f'a[href="/koordinator/{incident_id}"]'),
        timeout_s=30,
        what="the report in the coordinator's inbox",
    )
    waiting = browser.find_element(By.ID, "waiting").text
    office.say(f"STEP the report is in the coordinator's inbox on /koordinator ({waiting})")
    click_and_load(
        browser, browser.find_element(By.CSS_SELECTOR, f'a[href="/koordinator/{incident_id}"]')
    )
    # Kukar's standard (000): the leadership's disposition comes before validation.
    browser.find_element(By.ID, "disposition-by").send_keys("Drs. H. Hamly")
    browser.find_element(By.ID, "disposition-position").send_keys("Kepala Dinas Sosial")
    browser.find_element(By.ID, "disposition-instruction").send_keys("Validasi, siapkan logistik")
    browser.find_element(By.ID, "disposition-submit").click()

    def disposition_listed() -> bool:
        try:
            found = browser.find_elements(By.ID, "disposition-list")
            return bool(found) and "Drs. H. Hamly" in found[0].text
        except StaleElementReferenceException:  # the page was reloading
            return False

    wait_for(disposition_listed, timeout_s=30, what="the disposition on the report page")
    office.say("STEP the leadership's disposition recorded on the report page (Kukar, 000)")
    (line,) = browser.find_elements(By.CSS_SELECTOR, "#need-lines .need-line")
    line.find_element(By.NAME, "item_code").send_keys(item)
    quantity = line.find_element(By.NAME, "quantity")
    quantity.clear()
    quantity.send_keys(str(NEEDED))
    browser.find_element(By.ID, "verify-submit").click()

    def decision_shown() -> dict[str, str] | None:
        if not browser.find_element(By.ID, "decided").is_displayed():
            return None
        return {
            part: str(browser.find_element(By.ID, f"decided-{part}").get_attribute("textContent"))
            for part in ("title", "by", "what")
        }

    decided = wait_for(decision_shown, timeout_s=30, what="the decision shown on the report page")
    assert decided["by"] == "Kabid Linjamsos", decided
    assert item in decided["what"] and str(NEEDED) in decided["what"], decided
    assert not browser.find_elements(By.ID, "verify-form")
    office.say(
        f"STEP verified by the coordinator on /koordinator/{incident_id}: {NEEDED} x {item}, "
        f"shown in place as {decided['title']!r} by {decided['by']}"
    )


def sign_and_release_the_pick_list(office: Office, browser: WebDriver, incident_id: str) -> None:
    """The warehouse keeper's picking screen: the planned dispatch appears, is signed and
    released (the markup of tests/logistics/test_screens.py)."""
    sign_in(office, browser, "logistics", "gudang", "/ui/picking")

    def dispatch_card() -> bool:
        if browser.find_elements(By.CSS_SELECTOR, ".dispatch button.sign"):
            return True
        browser.refresh()
        return False

    wait_for(dispatch_card, timeout_s=60, interval_s=1.0, what="the planned dispatch on /ui")
    office.say("STEP dispatch planned from the verified incident: on the keeper's screen")
    (card,) = browser.find_elements(By.CSS_SELECTOR, ".dispatch")
    click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.sign"))
    assert browser.find_element(By.ID, "ok").is_displayed()
    card = browser.find_element(By.CSS_SELECTOR, ".dispatch")
    signed = card.find_element(By.CSS_SELECTOR, ".signed").text
    assert "Rina Gudang" in signed, signed
    office.say(f"STEP pick list signed on /ui/picking by the signed-in keeper ({signed})")
    click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.release"))
    assert not browser.find_elements(By.CSS_SELECTOR, ".dispatch")
    assert browser.find_element(By.ID, "released").is_displayed()
    office.say(f"STEP released on /ui/picking (incident {incident_id})")


def take_the_delivery_to_the_door(office: Office, browser: WebDriver, incident_id: str) -> str:
    """The field team on its phone screen: the delivery assigned to it is departed,
    arrived at the site (the phone's position) and handed over with a signature."""
    with office.proxy.client("distribution", api_token(office, "distribution", "kabid")) as api:
        (delivery,) = wait_for(
            lambda: api.get("/deliveries", params={"case_id": incident_id}).json(),
            timeout_s=60,
            what="the delivery scheduled from the released dispatch",
        )
        office.say(f"STEP delivery {delivery['id']} scheduled from the release")
        # No screen assigns a relief delivery to a team yet: the coordinator's API call.
        assigned = ok(api.post(f"/deliveries/{delivery['id']}/assignment", json={"team": TEAM}))
        office.say(f"STEP delivery assigned to {TEAM} (coordinator, API through the proxy)")
    assert assigned["status"] == "assigned", assigned
    origin = office.proxy.url("distribution", "")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]}
    )
    browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": ARRIVAL["lat"], "longitude": ARRIVAL["lon"], "accuracy": 5},
    )
    # The team's account: its name is the team's, so /field shows the team's work.
    sign_in(office, browser, "distribution", "tagana", "/field")
    stop_css = f'li[data-delivery="{delivery["id"]}"]'

    def status() -> str:
        stops = browser.find_elements(By.CSS_SELECTOR, stop_css)
        return str(stops[0].get_attribute("data-status") or "") if stops else ""

    def status_is(wanted: str) -> bool:
        return status() == wanted

    def tap(selector: str) -> None:
        button = browser.find_element(By.CSS_SELECTOR, f"{stop_css} {selector}")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()

    assert status() == "assigned", browser.page_source[:2000]
    for step, after in (("departure", "in_transit"), ("arrival", "arrived")):
        tap(f'[data-step="{step}"]')
        wait_for(partial(status_is, after), timeout_s=30, what=f"{step} on /field")
        office.say(f"STEP delivery {step} on /field: now {after}")
    tap('[data-open="handover"]')
    stop = browser.find_element(By.CSS_SELECTOR, stop_css)
    stop.find_element(By.NAME, "received_by").send_keys("Lurah Sukarame")
    Select(stop.find_element(By.NAME, "relation")).select_by_value("self")
    canvas = stop.find_element(By.CSS_SELECTOR, "canvas.signature")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(
        canvas, -60, 0
    ).click_and_hold().move_by_offset(40, 15).move_by_offset(40, -20).release().perform()
    stop.find_element(By.CSS_SELECTOR, "form.handover button.send").click()
    wait_for(partial(status_is, "delivered"), timeout_s=30, what="the hand-over on /field")
    office.say("STEP delivery handed over on /field with the receiver's signature: delivered")
    return str(delivery["id"])


async def events_on_the_topics(office: Office, incident_id: str) -> dict[str, list[Any]]:
    """Every event of the case on each topic of its story, read from the start."""
    bootstrap = office.kafka.bootstrap_servers

    async def read(topic: str) -> list[Any]:
        records = await collect(
            bootstrap,
            topic,
            count=len(STORY[topic]) + 1,  # one more than expected: a duplicate would show
            timeout_s=3,
            match=lambda r: r.key == incident_id.encode(),
        )
        return [parse_event(record.value) for record in records]

    found = await asyncio.gather(*(read(topic) for topic in STORY))
    return dict(zip(STORY, found, strict=True))


# The rehearsal takes about 2.5 minutes on an idle 2-core machine; a loaded one, twice that.
@pytest.mark.timeout(600)
def test_an_incident_goes_from_lapor_to_the_door_over_https_on_kafka_through_restarts(
    office: Office,
) -> None:
    proxy = office.proxy
    redirect = httpx.get(
        f"http://127.0.0.1:{proxy.http_port}/lapor",
        headers={"Host": f"{proxy.host('intake')}:{proxy.http_port}"},
    )
    assert redirect.status_code in (301, 308), redirect.text
    # To the standard port: Caddy 2.6 redirects to 443 whatever https_port says, which is
    # where compose publishes it.
    assert redirect.headers["location"] == f"https://{proxy.host('intake')}/lapor"
    office.say(f"plain HTTP answered {redirect.status_code} -> {redirect.headers['location']}")
    item = stock_the_warehouse(office)
    browser = trusting_chromium(proxy, office.root / "browser")
    try:
        kabid_on_pantau = sign_in(office, browser, "notify", "kabid", "/")
        with proxy.client("notify", kabid_on_pantau) as notify:
            ok(
                notify.post(
                    "/subscriptions",
                    json={
                        "channel": "email",
                        "email": "kabid@dinsos.test",
                        "event_types": ["ResponseClockStopped"],
                    },
                ),
                201,
            )
        incident_id = file_report_on_lapor(office, browser)
        verify_incident(office, browser, incident_id, item)

        # Midway: the broker, then every service in turn, as an office's server restarts.
        office.restart_kafka()
        for service in SERVICES:
            office.restart_service(service)

        sign_and_release_the_pick_list(office, browser, incident_id)
        take_the_delivery_to_the_door(office, browser, incident_id)
        kabid_on_pantau = sign_in(office, browser, "notify", "kabid", "/")
        with proxy.client("notify", kabid_on_pantau) as notify:
            clock = wait_for(
                lambda: (c := notify.get(f"/clocks/{incident_id}").json()).get("outcome") and c,
                timeout_s=60,
                what="the response clock stopped",
            )
            assert clock["outcome"] == "met", clock
            office.say(
                f"STEP response clock stopped: {clock['outcome']} in "
                f"{clock['response_seconds']:.0f}s of {clock['target_seconds'] // 3600}h"
            )
            wait_for(lambda: office.mailbox.messages, timeout_s=30, what="the e-mail")
            timeline = notify.get(f"/clocks/{incident_id}/timeline").json()
            notifications = notify.get("/notifications", params={"case_id": incident_id}).json()
        assert csp_violations(browser) == [], "the pages broke their Content Security Policy"
    finally:
        browser.quit()

    assert_every_effect_once(office, incident_id, timeline, notifications)
    found = asyncio.run(events_on_the_topics(office, incident_id))
    for topic, expected in STORY.items():
        by_type: dict[str, set[str]] = {}
        for event in found[topic]:
            by_type.setdefault(event.event_type, set()).add(str(event.event_id))
        assert sorted(by_type) == sorted(expected), (topic, by_type)
        assert all(len(ids) == 1 for ids in by_type.values()), (topic, by_type)
    office.say("the incident's path on the topics, each event once:")
    for event in sorted(
        (e for events in found.values() for e in events), key=lambda e: e.occurred_at
    ):
        office.say(
            f"  {event.occurred_at.astimezone(UTC).isoformat(timespec='milliseconds')} "
            f"{event.event_type}"
        )
    for verdict in verify_audit_chains(office):
        office.say(f"dinsos-admin audit verify: {verdict}")
    office.say("restarts: " + ", ".join(office.restarts))
    office.say(f"the whole rehearsal took {time.monotonic() - office.narrator.started:.1f}s")


def assert_every_effect_once(
    office: Office,
    incident_id: str,
    timeline: list[dict[str, Any]],
    notifications: list[dict[str, Any]],
) -> None:
    """One incident, one verification, one dispatch, one delivery, each clock step once,
    the e-mail once; on the topics, each event of the story once (by its id)."""
    proxy = office.proxy
    # Read as the users signed in on the screens (their cookies' tokens).
    tokens = {
        "intake": office.tokens["intake", "kabid"],
        "logistics": office.tokens["logistics", "gudang"],
        "distribution": office.tokens["distribution", "tagana"],
    }
    with proxy.client("intake", tokens["intake"]) as intake:
        incidents = ok(intake.get("/incidents"))
    assert [i["id"] for i in incidents] == [incident_id]
    with proxy.client("logistics", tokens["logistics"]) as logistics:
        dispatches = ok(logistics.get("/dispatches", params={"case_id": incident_id}))
        assert [d["status"] for d in dispatches] == ["released"], dispatches
        assert ok(logistics.get("/stock/audit"))["consistent"] is True
    with proxy.client("distribution", tokens["distribution"]) as distribution:
        deliveries = ok(distribution.get("/deliveries", params={"case_id": incident_id}))
        assert [d["status"] for d in deliveries] == ["delivered"], deliveries
    steps = Counter(step["event_type"] for step in timeline)
    assert steps and set(steps.values()) == {1}, steps
    assert [n["status"] for n in notifications] == ["sent"], notifications
    assert len(office.mailbox.messages) == 1
    assert office.mailbox.sessions == [(True, RELAY_USER)], "not over STARTTLS after login"
    office.say(
        f"once each: 1 incident, 1 dispatch (released), 1 delivery (delivered), clock steps "
        f"{dict(steps)}, 1 e-mail (STARTTLS, after login)"
    )
