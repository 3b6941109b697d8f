"""Ports for processes a test restarts on the same address (`shared.tansu.port_to_keep`)."""

from __future__ import annotations

import socket
from pathlib import Path

from shared.tansu import port_to_keep


def _ephemeral_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_a_port_to_keep_lies_below_the_range_the_kernel_hands_out_to_others() -> None:
    ports = [port_to_keep() for _ in range(20)]

    assert all(20000 <= port < min(_ephemeral_start(), 32768) for port in ports)


def test_a_port_to_keep_is_never_handed_out_twice_by_one_process() -> None:
    ports = [port_to_keep() for _ in range(200)]

    assert len(set(ports)) == len(ports)


def test_a_port_to_keep_is_free_to_listen_on() -> None:
    port = port_to_keep()

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert listener.getsockname()[1] == port
