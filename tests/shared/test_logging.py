"""Log hygiene: per-request library lines only at DEBUG; a service's log file rotates by size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from fanout_cli.stack.components import service_named
from fanout_cli.stack.processes import wait_until
from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]


def probe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`tests.shared.log_probe` with `env` added (FANOUT_LOG_FILE unset unless given)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FANOUT_LOG_")}
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.shared.log_probe", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_request_through_httpx_logs_nothing_at_info(tmp_path: Path) -> None:
    log = tmp_path / "probe.log"
    probe("requests", FANOUT_LOG_FILE=str(log), FANOUT_LOG_LEVEL="INFO")
    assert [line["event"] for line in lines_of(log)] == ["probe.done"]


def test_request_through_httpx_logs_at_debug_as_json(tmp_path: Path) -> None:
    log = tmp_path / "probe.log"
    probe("requests", FANOUT_LOG_FILE=str(log), FANOUT_LOG_LEVEL="DEBUG")
    lines = lines_of(log)
    [request] = [line for line in lines if line["event"].startswith("HTTP Request: GET")]
    assert (request["logger"], request["level"], request["service"]) == ("httpx", "info", "probe")
    assert lines[-1]["event"] == "probe.done"


def test_service_logging_past_the_size_limit_rotates(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "probe.log"
    limit = 64 * 1024
    env = {"FANOUT_LOG_MAX_BYTES": str(limit), "FANOUT_LOG_BACKUPS": "2"}
    written = probe("lines", "2000", FANOUT_LOG_FILE=str(log), **env)
    assert written.stdout == written.stderr == ""  # everything went to the file
    files = [log, log.with_name("probe.log.1"), log.with_name("probe.log.2")]
    assert all(path.stat().st_size <= limit for path in files)
    assert not log.with_name("probe.log.3").exists()  # the oldest were dropped
    numbers = [[line["n"] for line in lines_of(path)] for path in reversed(files)]
    kept = [n for part in numbers for n in part]
    assert kept == list(range(kept[0], 2000))  # oldest file first, nothing lost in between
    assert kept[0] > 0 and all(part for part in numbers)


def test_service_without_log_file_logs_to_stdout() -> None:
    written = probe("lines", "3")
    lines = [json.loads(line) for line in written.stdout.splitlines()]
    assert [(line["event"], line["n"], line["service"]) for line in lines] == [
        ("probe.line", n, "probe") for n in range(3)
    ]
    assert written.stderr == ""


def test_stack_service_writes_its_own_log_apart_from_its_console(tmp_path: Path) -> None:
    common = CommonSettings(home=tmp_path / "home")
    service = service_named("sender")
    env = {k: v for k, v in service.env(common).items() if not k.startswith("FANOUT_LOG_M")}
    process = service.process(common.home)
    assert process.own_log
    assert env["FANOUT_LOG_FILE"] == str(process.log_file) == str(common.home / "logs/sender.log")
    process = replace(process, marker="tests.shared.log_probe")  # what it runs here
    argv = [sys.executable, "-m", "tests.shared.log_probe", "lines", "3"]
    process.start(argv, env={**env, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert wait_until(lambda: process.pid() is None, timeout=60)
    assert [line["n"] for line in lines_of(process.log_file)] == [0, 1, 2]
    assert process.console_file.read_text() == ""  # stdout and stderr: nothing else printed
    assert '"probe.line"' in process.log_tail(1)
