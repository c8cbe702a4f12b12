"""The benchmark's share of Kafka's CPU that is its JIT compiling: read from /proc per
thread, on a made-up /proc tree and on the real broker, and printed beside the CPU table."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from fanout_cli.bench import kafka_load
from fanout_cli.bench.render import jit_line
from fanout_cli.stack.orchestrate import broker
from shared.settings import CommonSettings

TICK = os.sysconf("SC_CLK_TCK")


def _task(proc: Path, pid: int, tid: int, name: str, utime: int, stime: int) -> None:
    task = proc / str(pid) / "task" / str(tid)
    task.mkdir(parents=True)
    (task / "comm").write_text(f"{name}\n")
    # the kernel's layout: pid, (comm, which may hold spaces and parentheses), state, ...
    rest = ["S", *["0"] * 10, str(utime), str(stime), *["0"] * 30]
    (task / "stat").write_text(f"{tid} ({name}) {' '.join(rest)}\n")


def test_only_the_compiler_threads_are_summed(tmp_path: Path) -> None:
    _task(tmp_path, 7, 7, "java", 500, 100)
    _task(tmp_path, 7, 8, "C2 CompilerThre", 300, 20)
    _task(tmp_path, 7, 9, "C1 CompilerThre", 40, 2)
    _task(tmp_path, 7, 10, "data-plane-kafk", 900, 300)
    _task(tmp_path, 7, 11, "x) C2 CompilerThre", 1000, 1000)  # not a name it starts with
    assert kafka_load.jit_cpu_s(7, tmp_path) == pytest.approx((320 + 42) / TICK)


def test_no_process_no_figure(tmp_path: Path) -> None:
    assert kafka_load.jit_cpu_s(None, tmp_path) is None
    assert kafka_load.jit_cpu_s(12345, tmp_path) is None  # gone, or no /proc
    assert kafka_load.jit_difference(None, 3.0) is None
    assert kafka_load.jit_difference(1.0, None) is None
    assert kafka_load.jit_difference(1.0, 3.456) == 2.46
    assert kafka_load.jit_difference(3.0, 1.0) == 0.0  # a thread that ended took its time


def test_the_line_gives_per_email_figures_in_run_order() -> None:
    runs = [
        {"matched": 100_000, "broker": {"jit_cpu_s": 1.3}},
        {"matched": 1_000_000, "broker": {"jit_cpu_s": 3.5}},
        {"matched": 1_000_000, "broker": {"jit_cpu_s": None}},
        {"matched": 0, "broker": {"jit_cpu_s": 0.2}},
    ]
    line = jit_line(runs)
    assert line is not None and line.endswith("in run order: 13.0 / 3.5 / — / —.")
    assert jit_line([{"matched": 10, "broker": {}}, {"matched": 10}]) is None


@pytest.mark.kafka
async def test_the_real_broker_has_compiler_threads_and_this_process_none(
    settings: CommonSettings,
) -> None:
    pid = broker(settings).process.pid()
    assert pid is not None
    spent = kafka_load.jit_cpu_s(pid)
    whole = psutil.Process(pid).cpu_times()
    # a broker compiles at start-up: some of its CPU, never more than all of it
    assert spent is not None and 0 < spent <= whole.user + whole.system + 0.1
    assert kafka_load.jit_cpu_s(os.getpid()) == 0.0
