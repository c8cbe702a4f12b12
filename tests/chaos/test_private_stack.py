"""The private stack's plumbing: free ports, and clean-up that runs once, also on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from fanout_cli.stack.components import SERVICES
from tests.chaos.private_stack import stack_env, stopped_on_exit
from tests.ports import free_ports


def test_free_ports_consecutive_are_bindable() -> None:
    ports = free_ports(3, consecutive=2)
    assert len(set(ports)) == 3
    for port in ports:
        for candidate in (port, port + 1):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", candidate))


def test_stack_env_gives_every_component_its_own_address(tmp_path: Path) -> None:
    env = stack_env(tmp_path, {"FANOUT_SENDER_MAX_IN_FLIGHT": "8"})
    ports = [env[f"{s.env_prefix}PORT"] for s in SERVICES]
    ports += [env["FANOUT_DATABASE_URL"].rsplit(":", 1)[1].split("/")[0]]
    ports += [env["FANOUT_KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1]]
    ports += [env["FANOUT_ESP_SIMULATOR_DNS_PORT"]]  # the simulator's DNS server (UDP)
    assert len(set(ports)) == len(SERVICES) + 3
    assert env["FANOUT_HOME"] == str(tmp_path)
    assert env["FANOUT_TOPIC_PREFIX"].startswith("chaos")
    assert env["FANOUT_SENDER_MAX_IN_FLIGHT"] == "8"


def test_stopped_on_exit_stops_once_on_failure() -> None:
    stops: list[int] = []
    with pytest.raises(RuntimeError), stopped_on_exit(lambda: stops.append(1)):
        raise RuntimeError("scenario broke")
    assert stops == [1]


def test_stopped_on_exit_stops_on_sigterm_and_restores_handler() -> None:
    stops: list[int] = []
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exited, stopped_on_exit(lambda: stops.append(1)):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # not reached: the handler raises first
    assert exited.value.code == 128 + signal.SIGTERM
    assert stops == [1]
    assert signal.getsignal(signal.SIGTERM) == before


def test_free_ports_are_below_the_ephemeral_range() -> None:
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    start = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32_768
    assert all(port + 1 < start for port in free_ports(50, consecutive=2))
