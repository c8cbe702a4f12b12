"""CPU time and peak RSS of every stack process, sampled while a benchmark runs.

PostgreSQL's CPU time is also split by server process role: each client's
`application_name` (`fanout-sender`, ...) or the background worker's type
(`autovacuum worker`, `walwriter`, ...), read from `pg_stat_activity` at every
sample (`pg_load.roles`). A server process that ends during the run takes its CPU
time out of the total, as before; the split keeps what it had used at the last sample.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil

from fanout_cli.bench import pg_load
from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.instances import known_instances
from fanout_cli.stack.orchestrate import broker
from shared.periodic import stopped_within
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
    postgres_roles: dict[str, float] = field(default_factory=dict)  # CPU s by server role
    _start_cpu: dict[str, float] = field(default_factory=dict)
    _procs: dict[str, list[psutil.Process]] = field(default_factory=dict)
    _backend_start: dict[int, float] = field(default_factory=dict)  # pid → CPU s at start
    _backend_cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # since start

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
        self._backend_start = self._backends()
        self._backend_cpu = {}

    def _backends(self) -> dict[int, float]:
        """CPU seconds of every server process (children of the postmaster) now."""
        found: dict[int, float] = {}
        for main in self._procs.get("postgres", []):
            with contextlib.suppress(psutil.Error):
                for child in main.children():
                    with contextlib.suppress(psutil.Error):
                        times = child.cpu_times()
                        found[child.pid] = times.user + times.system
        return found

    def sample_roles(self, roles: dict[int, str]) -> None:
        """Split the server's CPU time since `start` by the role of each process."""
        for pid, cpu in self._backends().items():
            role = roles.get(pid) or self._backend_cpu.get(pid, ("unnamed", 0.0))[0]
            self._backend_cpu[pid] = (role, cpu - self._backend_start.get(pid, 0.0))
        totals: dict[str, float] = {}
        for role, spent in self._backend_cpu.values():
            totals[role] = totals.get(role, 0.0) + spent
        self.postgres_roles = dict(sorted(totals.items(), key=lambda item: -item[1]))

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
        conn = await asyncpg.connect(self.common.database_url)
        try:
            while not stop.is_set():
                await self._sample_all(conn)
                await stopped_within(stop, self.interval)
            await self._sample_all(conn)
        finally:
            await conn.close()

    async def _sample_all(self, conn: asyncpg.Connection) -> None:
        self.sample()
        self.sample_roles(await pg_load.roles(conn))


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
