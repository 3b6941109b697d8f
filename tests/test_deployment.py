"""docker-compose.yml cannot be started here (no Docker engine), so this keeps it honest:
every service it runs exists, every variable it sets is one the code reads and accepts,
ports and databases line up, and production settings are what Kafka needs."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.distribution.settings import DistributionSettings
from services.intake.settings import IntakeSettings
from services.logistics.settings import LogisticsSettings
from services.notify.settings import NotifySettings
from shared.admin.database import database_url
from shared.audit_keys import AuditSettings
from shared.auth import AuthSettings
from shared.runtime import CONSUMER_STOP_TIMEOUT_S
from shared.serve import HTTP_DRAIN_S
from shared.settings import CommonSettings, KafkaSettings, ServiceSettings
from tests.support.compose import compose_file, service_environment, substitute

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "logistics": LogisticsSettings,
    "distribution": DistributionSettings,
    "notify": NotifySettings,
}
DEPLOY_ENV = {
    "POSTGRES_PASSWORD": "s3cret-for-test",
    "DINSOS_AUTH_SECRET": "pR0d-9fKq2Lw7XvN4mZt8sBc1yHj6uGe3aTd5oWi_Qx",
    "DINSOS_AUDIT_KEY": "aU7d-Kq3Vx9mWp2Lz8sNc4yRj6tGe1bHd5oFi_Tw",
    "INTAKE_NIK_HASH_KEY": "a-nik-hash-key-of-enough-length-0123456789",
    # A valid Fernet key (32 url-safe base64 bytes), for this test only.
    "DISTRIBUTION_DATA_KEY": "q7w2mPZV5cQ0b1pRZtJf9Yx3Lk8sN4aHdE6uGvC0iTo=",
    "INTAKE_DATA_KEY": "Zk3vT8mQ1pW6xN2cR9bL4yH7sD0fJ5gA-uE_iO2tKqc=",
    "DINSOS_DOMAIN": "dinsos.kukarkab.example",
    **{f"{service.upper()}_DB_PASSWORD": f"{service}-role-pw-for-test" for service in SETTINGS},
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_file()


def env_of(compose: dict[str, Any], service: str) -> dict[str, str]:
    return service_environment(compose, service, DEPLOY_ENV)


def known_variables(cls: type[ServiceSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = {
        f"{prefix}{field}".upper()
        for field in cls.model_fields
        if field not in ("common", "kafka", "auth", "audit")
    }
    for part in (CommonSettings, KafkaSettings, AuthSettings, AuditSettings):
        part_prefix = str(part.model_config.get("env_prefix", ""))
        names |= {f"{part_prefix}{field}".upper() for field in part.model_fields}
    return names


def test_runs_kafka_postgres_the_migration_step_and_the_four_services(
    compose: dict[str, Any],
) -> None:
    assert set(compose["services"]) == {"kafka", "postgres", "migrate", "proxy", *SETTINGS}
    kafka_env = compose["services"]["kafka"]["environment"]
    assert "broker,controller" in kafka_env["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_service_command_variables_and_port_match_the_code(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = compose["services"][service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert importlib.util.find_spec(f"services.{service}.__main__") is not None
    env = env_of(compose, service)
    unknown = set(env) - known_variables(SETTINGS[service])
    assert not unknown, f"{service} sets variables no setting reads: {sorted(unknown)}"

    for key in list(os.environ):
        if key.startswith(("DINSOS_", "KAFKA_", f"{service.upper()}_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = SETTINGS[service]()
    assert isinstance(settings, BaseSettings)
    assert settings.common.environment == "production"
    assert settings.kafka.enable_idempotence is True
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.auth.required is True
    assert settings.auth.algorithm == "HS256"  # unless the office sets another
    assert settings.common.log_format == "json"
    assert settings.auth.signing_secret() == DEPLOY_ENV["DINSOS_AUTH_SECRET"]
    assert settings.audit.key is not None
    assert settings.audit.key.get_secret_value() == DEPLOY_ENV["DINSOS_AUDIT_KEY"]
    assert settings.host == "0.0.0.0"
    assert spec["expose"] == [str(settings.port)]
    assert settings.port == SETTINGS[service].model_fields["port"].default
    # Its own role, never the superuser; deploy/postgres-init.sh makes it.
    own_role = f"postgresql://{service}:{DEPLOY_ENV[f'{service.upper()}_DB_PASSWORD']}@postgres:"
    assert settings.database_url.startswith(own_role)
    database = settings.database_url.rsplit("/", 1)[1]
    assert database == service
    init_script = (ROOT / "deploy" / "postgres-init.sh").read_text()
    assert re.search(rf'SERVICES="\$\{{DINSOS_DB_SERVICES:-[a-z ]*\b{service}\b', init_script)
    postgres_env = env_of(compose, "postgres")
    assert (
        postgres_env[f"{service.upper()}_DB_PASSWORD"]
        == DEPLOY_ENV[f"{service.upper()}_DB_PASSWORD"]
    )


def test_every_service_waits_for_the_migration_step_to_finish(compose: dict[str, Any]) -> None:
    for service in SETTINGS:
        depends = compose["services"][service]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "shared.admin", "db", "upgrade"]
    assert migrate["restart"] == "no"  # one shot: done is done, failed stops the start
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["image"] == compose["services"]["intake"]["image"]


def test_the_migration_step_migrates_the_databases_the_services_use(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate_env = env_of(compose, "migrate")
    for key in list(os.environ):
        if key.endswith("_DATABASE_URL") or key.startswith("DINSOS_"):
            monkeypatch.delenv(key)
    for key, value in migrate_env.items():
        monkeypatch.setenv(key, value)
    assert set(migrate_env) == {"DINSOS_ENVIRONMENT", "DINSOS_AUDIT_KEY"} | {
        f"{service.upper()}_DATABASE_URL" for service in SETTINGS
    }
    for service in SETTINGS:
        assert database_url(service) == env_of(compose, service)[f"{service.upper()}_DATABASE_URL"]


def test_password_must_be_set(compose: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="INTAKE_DB_PASSWORD"):
        substitute(compose["services"]["intake"]["environment"]["INTAKE_DATABASE_URL"], {})
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        substitute(compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"], {})
    with pytest.raises(KeyError, match="DINSOS_AUTH_SECRET"):
        substitute(compose["services"]["intake"]["environment"]["DINSOS_AUTH_SECRET"], {})
    with pytest.raises(KeyError, match="DINSOS_AUDIT_KEY"):
        substitute(compose["services"]["intake"]["environment"]["DINSOS_AUDIT_KEY"], {})


def test_image_contains_what_the_services_import() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY shared ./shared", "COPY services ./services", "pip install ."):
        assert needed in dockerfile


def test_the_image_backs_up_with_the_pg_dump_of_the_servers_major_version(
    compose: dict[str, Any],
) -> None:
    server_major = compose["services"]["postgres"]["image"].split(":")[1].split(".")[0]
    clients = re.findall(r"postgresql-client-(\d+)", (ROOT / "Dockerfile").read_text())
    assert clients == [server_major]


def test_each_service_is_checked_ready_through_its_readyz_with_python(
    compose: dict[str, Any],
) -> None:
    # The image has no curl or wget: the check runs the image's own python.
    assert not re.search(r"\b(curl|wget)\b", (ROOT / "Dockerfile").read_text())
    for service, settings_class in SETTINGS.items():
        check = compose["services"][service]["healthcheck"]
        port = settings_class.model_fields["port"].default
        assert check["test"][:3] == ["CMD", "python", "-c"]
        assert f"http://127.0.0.1:{port}/readyz" in check["test"][3]
        assert check["start_period"] and check["retries"] >= 3


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_the_healthcheck_command_passes_on_200_and_fails_on_503(
    compose: dict[str, Any], status: int, exit_code: int
) -> None:
    class Readyz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = compose["services"]["intake"]["healthcheck"]["test"][3]
        code = code.replace("127.0.0.1:8001", f"127.0.0.1:{server.server_port}")
        ran = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, timeout=30
        )
    finally:
        server.shutdown()
        server.server_close()
    assert ran.returncode == exit_code, ran.stderr


def seconds(duration: str) -> float:
    """Compose's duration ("30s", "1m30s") in seconds."""
    parts = re.findall(r"(\d+)([hms])", duration)
    assert "".join(f"{n}{u}" for n, u in parts) == duration, duration
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def test_docker_waits_longer_than_a_service_takes_to_stop(compose: dict[str, Any]) -> None:
    shutdown = HTTP_DRAIN_S + CONSUMER_STOP_TIMEOUT_S
    for service in SETTINGS:
        grace = seconds(compose["services"][service]["stop_grace_period"])
        assert grace > shutdown, f"{service}: {grace}s to stop, needs more than {shutdown}s"


def mounts(compose: dict[str, Any], service: str) -> dict[str, str]:
    """Container path -> named volume of a service's volumes."""
    found = {}
    for entry in compose["services"][service].get("volumes", []):
        volume, path = entry.split(":")[:2]
        found[path] = volume
    return found


def test_the_users_file_and_intakes_photos_live_on_named_volumes(
    compose: dict[str, Any],
) -> None:
    declared = set(compose["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    for service in SETTINGS:
        env = env_of(compose, service)
        users_dir = str(Path(env["DINSOS_AUTH_USERS_FILE"]).parent)
        assert mounts(compose, service).get(users_dir) == "users", service
    photo_dir = env_of(compose, "intake")["INTAKE_PHOTO_DIR"]
    assert mounts(compose, "intake").get(photo_dir) == "intake-photos"
    for service in SETTINGS:
        for path, volume in mounts(compose, service).items():
            assert volume in declared, f"{service} mounts an undeclared volume {volume}"
            # Made and owned by the service user in the image, so the volume is writable.
            assert path in dockerfile and re.search(rf"chown dinsos [^\n]*{path}", dockerfile)


def test_an_external_identity_providers_key_is_passed_through(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    office_env = {
        **DEPLOY_ENV,
        "DINSOS_AUTH_ALGORITHM": "RS256",
        "DINSOS_AUTH_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
    }
    raw = compose["services"]["notify"]["environment"]
    env = {key: substitute(str(value), office_env) for key, value in raw.items()}
    for key in list(os.environ):
        if key.startswith(("DINSOS_", "KAFKA_", "NOTIFY_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    auth = NotifySettings().auth
    assert auth.algorithm == "RS256"
    assert auth.verification_key() == office_env["DINSOS_AUTH_PUBLIC_KEY"]


def test_services_publish_no_fixed_host_port_so_they_scale(compose: dict[str, Any]) -> None:
    for service in SETTINGS:
        assert "ports" not in compose["services"][service], f"{service} cannot be scaled"
        assert "container_name" not in compose["services"][service]
    # For one replica each without a proxy: the override publishes each on its own port.
    override = yaml.safe_load((ROOT / "deploy" / "compose.ports.yml").read_text())
    for service, settings_class in SETTINGS.items():
        port = settings_class.model_fields["port"].default
        assert override["services"][service] == {"ports": [f"{port}:{port}"]}


# The host name each service is served under, behind the proxy (deploy/caddy/Caddyfile).
PROXY_HOSTS = {
    "intake": "lapor",
    "logistics": "gudang",
    "distribution": "distribusi",
    "notify": "pantau",
}


def test_only_the_https_proxy_publishes_ports_and_it_waits_for_every_service(
    compose: dict[str, Any],
) -> None:
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert {entry.split("/")[0] for entry in proxy["ports"]} == {"80:80", "443:443"}
    for name, spec in compose["services"].items():
        if name != "proxy":
            assert "ports" not in spec, f"{name} publishes a port beside the proxy"
    assert proxy["depends_on"] == {
        service: {"condition": "service_healthy"} for service in SETTINGS
    }
    assert proxy["healthcheck"]["test"][0] == "CMD"
    # The local CA and the certificates survive a re-created container.
    assert {mounts(compose, "proxy")[path] for path in ("/data", "/config")} == {
        "caddy-data",
        "caddy-config",
    }
    assert env_of(compose, "proxy") == {
        "DINSOS_DOMAIN": DEPLOY_ENV["DINSOS_DOMAIN"],
        "DINSOS_TLS": "internal",
    }


def test_the_proxy_serves_each_service_under_its_own_host_on_the_port_it_listens_on(
    compose: dict[str, Any],
) -> None:
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    for service, settings_class in SETTINGS.items():
        port = settings_class.model_fields["port"].default
        site = re.search(
            rf"^{PROXY_HOSTS[service]}\.\{{\$DINSOS_DOMAIN\}} \{{\n(.*?)^\}}",
            caddyfile,
            re.MULTILINE | re.DOTALL,
        )
        assert site, f"no site for {service}"
        assert f"dynamic a {{$DINSOS_UPSTREAM_{service.upper()}:{service} {port}}}" in site[1]
        assert "import service" in site[1]  # TLS from DINSOS_TLS
    assert "tls {$DINSOS_TLS:internal}" in caddyfile


def test_services_believe_forwarded_headers_from_the_proxys_address_only(
    compose: dict[str, Any],
) -> None:
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    proxy_address = substitute(proxy_address, DEPLOY_ENV)
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(substitute(network["subnet"], DEPLOY_ENV))
    others = ipaddress.ip_network(substitute(network["ip_range"], DEPLOY_ENV))
    assert ipaddress.ip_address(proxy_address) in subnet
    # Docker hands the other containers addresses from ip_range only: none can take it.
    assert ipaddress.ip_address(proxy_address) not in others
    for service in SETTINGS:
        assert env_of(compose, service)["DINSOS_FORWARDED_ALLOW_IPS"] == proxy_address
    assert CommonSettings().forwarded_allow_ips == "127.0.0.1"
