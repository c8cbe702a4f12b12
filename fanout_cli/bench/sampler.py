"""CPU time and peak RSS of every stack process, sampled while a benchmark runs."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.instances import known_instances
from fanout_cli.stack.orchestrate import broker
from shared.settings import CommonSettings


@dataclass
class ProcessFigures:
    """One component's resource use over a measured interval."""

    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class Sampler:
    """Samples the stack's processes every `interval` seconds until stopped."""

    common: CommonSettings
    interval: float = 0.5
    figures: dict[str, ProcessFigures] = field(default_factory=dict)
    _start_cpu: dict[str, float] = field(default_factory=dict)
    _procs: dict[str, list[psutil.Process]] = field(default_factory=dict)

    def _discover(self) -> dict[str, list[psutil.Process]]:
        found: dict[str, list[psutil.Process]] = {}
        for service in SERVICES:
            for instance in known_instances(service, self.common.home):  # each by its name
                pid = instance.process(self.common.home).pid()
                if pid is not None:
                    found[instance.name] = [psutil.Process(pid)]
        kafka_pid = broker(self.common).process.pid()
        if kafka_pid is not None:
            found["kafka"] = [psutil.Process(kafka_pid)]
        postmaster = _read_pid(self.common.home / "postgres" / "postmaster.pid")
        if postmaster is not None and psutil.pid_exists(postmaster):
            main = psutil.Process(postmaster)
            found["postgres"] = [main]
        return found

    def _cpu(self, name: str) -> float:
        total = 0.0
        for proc in self._procs.get(name, []):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
                if name == "postgres":  # backends are children of the postmaster
                    for child in proc.children():
                        with contextlib.suppress(psutil.Error):
                            ct = child.cpu_times()
                            total += ct.user + ct.system
        return total

    def start(self) -> None:
        """Remember each process's CPU time now."""
        self._procs = self._discover()
        self._start_cpu = {name: self._cpu(name) for name in self._procs}
        self.figures = {name: ProcessFigures() for name in self._procs}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds of each process since `start`, sampled now."""
        self.sample()
        return {name: round(fig.cpu_s, 2) for name, fig in self.figures.items()}

    def sample(self) -> None:
        """Record RSS now; CPU is the difference since `start`."""
        for name, procs in self._procs.items():
            rss = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
            fig = self.figures[name]
            fig.peak_rss_mb = max(fig.peak_rss_mb, rss / 2**20)
            fig.cpu_s = self._cpu(name) - self._start_cpu[name]

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set, then once more."""
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        self.sample()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
