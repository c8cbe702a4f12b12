"""`fanout stack up/down` on private ports: idempotent, and leaves nothing running."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fanout_cli.stack.processes import port_open
from fanout_cli.testrun.ports import free_port
from tests.commands import fanout, scratch_home

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres]
REPO = Path(__file__).resolve().parents[2]


def _stack_pids(home: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(home) in cmdline:
            pids.append(int(proc.name))
    return pids


def test_stack_up_twice_then_down_leaves_no_process() -> None:
    with scratch_home("stack") as home:
        _up_twice_then_down(home)


def _up_twice_then_down(home: Path) -> None:
    taken: set[int] = set()
    pg_port, kafka_port = free_port(taken), free_port(taken, span=2)  # Kafka's controller: +1
    env = {
        **os.environ,
        "FANOUT_HOME": str(home),
        "FANOUT_DATABASE_URL": f"postgresql://fanout:fanout@127.0.0.1:{pg_port}/fanout",
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
    }
    try:
        first = fanout(env, "stack", "up", "--only", "infra")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "started on" in first.stdout
        kafka_pid = (home / "run" / "kafka.pid").read_text()
        second = fanout(env, "stack", "up", "--only", "infra")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "started on" not in second.stdout and "starting on" not in second.stdout
        assert (home / "run" / "kafka.pid").read_text() == kafka_pid
        status = fanout(env, "stack", "status")
        assert f"127.0.0.1:{kafka_port}" in status.stdout
    finally:
        down = fanout(env, "stack", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not port_open("127.0.0.1", pg_port)
    assert not port_open("127.0.0.1", kafka_port)
    assert _stack_pids(home) == []


def _kafka_up_refusal(env: dict[str, str]) -> str:
    """What `fanout stack up --only kafka` says when it refuses (exit 1, no traceback)."""
    result = fanout(env, "stack", "up", "--only", "kafka")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def test_stack_up_reports_unreachable_remote_kafka_clearly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FANOUT_HOME": str(tmp_path),
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": "kafka.invalid:9092",
    }
    assert "kafka.invalid:9092 is unreachable" in _kafka_up_refusal(env)


def test_stack_up_refuses_a_taken_kafka_port(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = {
            **os.environ,
            "FANOUT_HOME": str(tmp_path),
            "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        }
        refusal = _kafka_up_refusal(env)
    assert "already taken" in refusal


def test_stack_up_says_java_is_missing(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {
        **os.environ,
        "FANOUT_HOME": str(tmp_path / "home"),
        "PATH": str(bin_dir),
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port(set())}",
    }
    assert "Java is required" in _kafka_up_refusal(env)


def test_stack_up_says_maven_could_not_fetch(tmp_path: Path) -> None:
    settings = tmp_path / "settings.xml"
    settings.write_text(
        "<settings><localRepository>" + str(tmp_path / "m2") + "</localRepository>"
        "<mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf>"
        "<url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>"
    )
    env = {
        **os.environ,
        "FANOUT_HOME": str(tmp_path / "home"),
        "FANOUT_CACHE_DIR": str(tmp_path / "cache"),
        "FANOUT_MAVEN_SETTINGS": str(settings),
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port(set())}",
    }
    assert "Maven could not fetch the Kafka jars" in _kafka_up_refusal(env)
