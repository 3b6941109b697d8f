"""A port for a broker a test restarts on the same address. `free_port()` takes one from
the kernel's ephemeral range, and with the suite on several workers another worker's
`free_port()` can be handed the port between the kill and the restart; a port below that
range is never handed out that way."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def port_for_a_restart() -> int:
    """A free port below the ephemeral range (Linux's default starts at 32768)."""
    try:
        ephemeral_start = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    for _ in range(200):
        port = random.randrange(20000, min(ephemeral_start, 32768))
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")
