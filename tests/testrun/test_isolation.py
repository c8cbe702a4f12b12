"""`fanout test` beside another running stack: it never touches it and leaves nothing behind.

Another stack (PostgreSQL, Kafka and the ESP simulator, in a home of its own on free
ports, its FANOUT_* variables in the environment as a user would have them) runs while
`fanout test` runs a small selection (tests/testrun/probe, which starts a service on the
suite's stack) to its end, or is interrupted midway by SIGINT or SIGTERM. Afterwards
every process of the other stack is the very one it was, and nothing of the suite's
stack remains: no process, no listening port, no home.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fanout_cli.stack.processes import alive, port_open
from fanout_cli.testrun.ports import free_port
from fanout_cli.testrun.stack import KEPT, MARKER, SuiteStack
from fanout_cli.testrun.sweep import marked
from tests.commands import fanout, scratch_home

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[2]
EXIT_CODES = {"completes": 0, "SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


def _start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19])


@dataclass(frozen=True)
class OtherStack:
    """A stack the suite did not start, and the environment pointing at it."""

    home: Path
    env: dict[str, str]

    def processes(self) -> dict[str, tuple[int, int]]:
        """Each component's pid and start time (a restarted process has another)."""
        pid_files = {p.stem: p for p in (self.home / "run").glob("*.pid")}
        pid_files["postgres"] = self.home / "postgres" / "postmaster.pid"
        found = {}
        for name, pid_file in pid_files.items():
            pid = int(pid_file.read_text().split()[0])
            assert alive(pid), f"{name} (pid {pid}) of the other stack is gone"
            found[name] = (pid, _start_time(pid))
        return found


@pytest.fixture(scope="module")
def other_stack() -> Iterator[OtherStack]:
    with scratch_home("other-stack") as home:
        yield from _started_beside(home)


@pytest.fixture
def suite_home() -> Iterator[Path]:
    """Where `fanout test` is told to put its stack (FANOUT_TEST_HOME)."""
    with scratch_home("suite") as home:
        yield home


def _started_beside(home: Path) -> Iterator[OtherStack]:
    taken: set[int] = set()
    postgres, kafka = free_port(taken), free_port(taken, span=2)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("FANOUT_") or k in KEPT}
    env = {
        **inherited,
        **{k: os.environ[k] for k in (MARKER,) if k in os.environ},  # swept if we are stopped
        "FANOUT_HOME": str(home),
        "FANOUT_DATABASE_URL": f"postgresql://fanout:fanout@127.0.0.1:{postgres}/fanout",
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
        "FANOUT_ESP_SIMULATOR_PORT": str(free_port(taken)),
        "FANOUT_WEBHOOK_INGEST_PORT": str(free_port(taken)),
        # the simulator's DNS (UDP) and SMTP servers: never the demo stack's defaults
        "FANOUT_ESP_SIMULATOR_DNS_PORT": str(free_port(taken)),
        "FANOUT_STACK_SMTP_PORT": str(free_port(taken)),
    }
    try:
        up = fanout(env, "stack", "up", "--only", "infra", "--only", "esp-simulator")
        assert up.returncode == 0, up.stdout + up.stderr
        yield OtherStack(home, env)
    finally:
        down = fanout(env, "stack", "down")
    assert down.returncode == 0, down.stdout + down.stderr


def _mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment contains `text`."""
    needle, pids = text.encode(), []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in seen and alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def _wait_for(check: object, what: str, run: subprocess.Popen[bytes], log: Path) -> None:
    assert callable(check)
    deadline = time.monotonic() + 600
    while not check():
        assert run.poll() is None, f"`fanout test` ended before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {what} after 600 s:\n{log.read_text()}"
        time.sleep(0.1)


@pytest.mark.parametrize("ending", list(EXIT_CODES))
def test_fanout_test_beside_another_stack_leaves_it_and_nothing_behind(
    other_stack: OtherStack, suite_home: Path, tmp_path: Path, ending: str
) -> None:
    before = other_stack.processes()
    assert set(before) == {"postgres", "kafka", "esp-simulator"}
    report, log = tmp_path / "probe.json", tmp_path / "log"
    env = {**other_stack.env, "FANOUT_TEST_HOME": str(suite_home), "TESTRUN_PROBE": str(report)}
    if ending != "completes":
        env["TESTRUN_PROBE_HOLD"] = "1"
    argv = [
        "test",
        "--no-lint",
        "--workers=1",
        "--",
        "tests/testrun/probe",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    with log.open("wb") as output:
        run = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "fanout_cli.main", *argv],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: SuiteStack.load(suite_home) is not None, "a test stack", run, log)
        suite = SuiteStack.load(suite_home)
        assert suite is not None
        if ending != "completes":
            _wait_for(report.exists, "the probe holding", run, log)
            run.send_signal(getattr(signal, ending))
        code = run.wait(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert code == EXIT_CODES[ending], log.read_text()
    assert other_stack.processes() == before
    probe = json.loads(report.read_text())
    assert not alive(probe["service"]) and not alive(probe["pytest"])
    assert marked(MARKER, suite.id) == []
    assert _mentioning(str(suite_home)) == []
    ports = [suite.postgres_port, suite.kafka_port, suite.kafka_port + 1]
    assert [p for p in [*ports, *suite.service_ports.values()] if port_open("127.0.0.1", p)] == []
    assert not suite_home.exists()
