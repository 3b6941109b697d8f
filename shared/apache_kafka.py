"""Start Apache Kafka, the broker docker-compose.yml runs, on loopback: KRaft, one node that
is broker and controller, from the jars `scripts/kafka.sh` fetches from Maven Central at the
compose image's version. For the tests in tests/kafka/ and `python -m shared.stack --kafka`
(a benchmark can start it the same way).

Unlike Tansu, Kafka keeps its log on disk: `restart()` stops the JVM and starts it again on
the same log directory and ports, and every topic, record and committed offset is still
there.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.tansu import StoppedOnExit, port_to_keep

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
FETCH_SCRIPT = REPO_ROOT / "scripts" / "kafka.sh"
MAIN_CLASS = "kafka.Kafka"
# KRaft's format tool in 3.9 (checked; what `kafka-storage.sh` runs). With a static
# `controller.quorum.voters`, as docker-compose sets it, a plain `format` is right;
# `--standalone` is for a dynamic quorum (`controller.quorum.bootstrap.servers`) only.
STORAGE_TOOL = "kafka.tools.StorageTool"
HEAP = "512m"
# For tests and the local run: the client-level JIT only and the serial collector cut the
# CPU a start costs by about a third (2.2 s instead of 3.5 s here), which counts on two
# shared cores. A benchmark of the broker's throughput should pass `jvm_options=()`.
QUICK_START_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

# What docker-compose.yml gives every service for Kafka (tests/kafka checks they agree):
# the idempotent producer Tansu lacks, the client's usual fetch long-poll (Kafka answers
# as soon as data arrives) and production's group timings.
SERVICE_ENV = {
    "KAFKA_ENABLE_IDEMPOTENCE": "true",
    "KAFKA_FETCH_MAX_WAIT_MS": "500",
    "KAFKA_SESSION_TIMEOUT_S": "10",
    "KAFKA_HEARTBEAT_INTERVAL_S": "3",
    "KAFKA_REBALANCE_TIMEOUT_S": "10",
    "KAFKA_TOPIC_PARTITIONS": "4",
    "KAFKA_REPLICATION_FACTOR": "1",
}

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


def kafka_home() -> Path:
    """The cached Kafka class path (`libs/` inside), fetched by scripts/kafka.sh if missing."""
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        ["bash", str(FETCH_SCRIPT)],  # noqa: S607 - bash from PATH, as every script here
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/kafka.sh failed ({result.returncode}):\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def java_binary() -> str:
    """`$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("no java on PATH: run scripts/kafka.sh (it installs one with apt)")
    return found


def _classpath(home: Path) -> str:
    return str(home / "libs" / "*")


def kafka_version(home: Path) -> str:
    """What `kafka.Kafka --version` prints for these jars, e.g. '3.9.1'."""
    result = subprocess.run(  # noqa: S603 - our own java and class path, fixed arguments
        [java_binary(), "-cp", _classpath(home), MAIN_CLASS, "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    # SLF4J may say something on stderr; the version is stdout's last line.
    return result.stdout.strip().splitlines()[-1]


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as
    `kafka-storage random-uuid` makes (no JVM start needed). Like Kafka's own Uuid, never
    one starting with "-": the storage tool would read it as an option (1 start in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def wait_until_serving(
    bootstrap: str, process: subprocess.Popen[bytes] | None = None, *, timeout_s: float
) -> None:
    """Block until the broker has registered with its controller and answers metadata;
    fail at once if its `process` exits."""

    async def registered() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster["brokers"]) and cluster["controller_id"] >= 0
        except (KafkaError, OSError):
            return False
        finally:
            await admin.close()

    outcome: list[bool] = []

    def probe() -> None:
        # Its own loop in its own thread: callers may already be inside an event loop.
        outcome.append(asyncio.run(registered()))

    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Apache Kafka exited with {process.returncode}")
        # A plain connect first: a Kafka client logs an error for every refused attempt.
        try:
            socket.create_connection((host, int(port)), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
            continue
        outcome.clear()
        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        thread.join(timeout=10)
        if outcome and outcome[0]:
            return
        time.sleep(0.2)
    raise TimeoutError(f"Apache Kafka at {bootstrap} not ready after {timeout_s}s")


@dataclass
class ApacheKafka(StoppedOnExit):
    """A single-node KRaft Apache Kafka JVM on loopback, its log kept in `directory`."""

    home: Path
    directory: Path
    port: int
    controller_port: int
    version: str
    heap: str = HEAP
    jvm_options: tuple[str, ...] = QUICK_START_JVM
    # server.properties entries beyond docker-compose's (a test's shorter group delay).
    extra_config: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        """Kafka's `log.dirs`: topics, offsets and the KRaft metadata log."""
        return self.directory / "kraft-log"

    @property
    def output_path(self) -> Path:
        """The broker's own log (stdout and stderr of the JVM)."""
        return self.directory / "broker.log"

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        home: Path | None = None,
        heap: str = HEAP,
        jvm_options: tuple[str, ...] = QUICK_START_JVM,
        extra_config: Mapping[str, str] | None = None,
    ) -> Self:
        """Start a broker on free loopback ports, its log in `directory` (formatted on first
        use, reused as it is otherwise), and wait until it serves clients."""
        home = home or kafka_home()
        version = kafka_version(home)
        log.info("Apache Kafka %s (KRaft) from %s", version, home)
        directory.mkdir(parents=True, exist_ok=True)
        broker = cls(
            home=home,
            directory=directory,
            port=port or port_to_keep(),
            controller_port=controller_port or port_to_keep(),
            version=version,
            heap=heap,
            jvm_options=jvm_options,
            extra_config=dict(extra_config or {}),
        )
        broker._write_config()
        if not (broker.log_dir / "meta.properties").exists():
            broker._format()
        broker._launch()
        return broker

    def restart(self) -> None:
        """Stop cleanly and start again on the same ports and log: nothing is lost."""
        self.stop()
        self._launch()

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown that flushes the log), SIGKILL if it hangs."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _config_path(self) -> Path:
        return self.directory / "server.properties"

    def _write_config(self) -> None:
        # The settings docker-compose.yml gives its kafka service, on loopback ports.
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "auto.create.topics.enable": "false",
            "log.dirs": str(self.log_dir),
            **self.extra_config,
        }
        self._config_path().write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        (self.directory / "log4j.properties").write_text(LOG4J)

    def _java(self, main_class: str, *args: str, heap: str | None = None) -> list[str]:
        return [
            java_binary(),
            *([f"-Xmx{heap}", "-Xms128m", *self.jvm_options] if heap else []),
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.directory / 'log4j.properties'}",
            "-cp",
            _classpath(self.home),
            main_class,
            *args,
        ]

    def _format(self) -> None:
        command = self._java(
            STORAGE_TOOL, "format", "-t", new_cluster_id(), "-c", str(self._config_path())
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed arguments
        if result.returncode != 0:
            raise RuntimeError(f"formatting {self.log_dir} failed:\n{result.stdout}{result.stderr}")

    def _launch(self) -> None:
        output: IO[bytes] = self.output_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own java and class path
            self._java(MAIN_CLASS, str(self._config_path()), heap=self.heap),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()  # the child holds its own descriptor
        try:
            wait_until_serving(self.bootstrap_servers, self.process, timeout_s=READY_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            self.stop()
            tail = self.output_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}; the broker's log ends:\n{tail}") from None
