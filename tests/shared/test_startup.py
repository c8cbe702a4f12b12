"""Every service process, started with one dependency unreachable: one line, exit code 2.

Each case runs `python -m services.<name>` with one setting pointing at a closed
local port (or, for the simulator, its own port already taken) and the other
dependencies on the test stack; the process must say, on exactly one stderr line,
which service cannot start and which setting to change.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import CommonSettings
from tests.commands import python_module
from tests.ports import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

DB, KAFKA = "FANOUT_DATABASE_URL", "FANOUT_KAFKA_BOOTSTRAP_SERVERS"
CASES = [
    (service, setting)
    for service in ("campaign_api", "lead_resolver", "sender", "webhook_ingest", "report_sink")
    for setting in (DB, KAFKA)
] + [("esp_simulator", "FANOUT_ESP_SIMULATOR_PORT")]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(("service", "setting"), CASES)
def test_start_service_with_dependency_unreachable_exits_2_with_one_line(
    service: str,
    setting: str,
    base_settings: CommonSettings,
    pg_dsn: str,
    tmp_path: Path,
    taken_port: int,
) -> None:
    closed = free_port()
    env = {
        **os.environ,
        "FANOUT_ENVIRONMENT": "test",
        "FANOUT_HOME": str(tmp_path),
        "FANOUT_TOPIC_PREFIX": f"startup{closed}.",
        DB: pg_dsn,
        KAFKA: base_settings.kafka_bootstrap_servers,
        f"FANOUT_{service.upper()}_PORT": str(free_port()),
    }
    env[setting] = {
        DB: f"postgresql://fanout:fanout@127.0.0.1:{closed}/fanout",
        KAFKA: f"127.0.0.1:{closed}",
    }.get(setting, str(taken_port))
    result = python_module(env, f"services.{service}", timeout_s=60)
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"{service} cannot start: ")
    assert setting in lines[0]
