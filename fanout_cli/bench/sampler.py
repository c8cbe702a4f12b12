"""CPU time and peak RSS of every stack process, sampled while a benchmark runs.

PostgreSQL's CPU time is the postmaster's and every server process's (its children),
each counted from the start of the run or from its own start, whichever is later; a
server process that ends during the run keeps what it had used at the last sample
(sampled every 0.5 s). It is also split by server process role: each client's
`application_name` (`fanout-sender`, ...) or the background worker's type
(`autovacuum worker`, `walwriter`, ...), read from `pg_stat_activity` at every sample
(`pg_load.roles`). Server processes are told apart by pid and start time, so a pid the
kernel hands out again is a new process.

Until 2026-12-04 the total was the server's CPU time now minus at the start, summed over
the processes alive at each moment: a backend that ended during the run (a service's
pooled connection, closed when `--tune` restarts the service) took all the CPU time of
its life out of the total, so the total read lower than the split (14.1 against 15.4 s,
16.3 against 20.1 s in the two 1M runs of `bench/results/20261204T070340Z`).
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

Backend = tuple[int, float]  # a server process: its pid and start time


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
    _backend_start: dict[Backend, float] = field(default_factory=dict)  # CPU s at start
    _backend_cpu: dict[Backend, tuple[str, float]] = field(default_factory=dict)  # role, CPU s

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
        """CPU seconds of `name`'s processes (for postgres: the postmaster's own)."""
        total = 0.0
        for proc in self._procs.get(name, []):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def start(self) -> None:
        """Remember each process's CPU time now."""
        self._procs = self._discover()
        self._start_cpu = {name: self._cpu(name) for name in self._procs}
        self.figures = {name: ProcessFigures() for name in self._procs}
        self._backend_start = self._backends()
        self._backend_cpu = {}

    def _backends(self) -> dict[Backend, float]:
        """CPU seconds of every server process (children of the postmaster) now."""
        found: dict[Backend, float] = {}
        for main in self._procs.get("postgres", []):
            with contextlib.suppress(psutil.Error):
                for child in main.children():
                    with contextlib.suppress(psutil.Error):
                        times = child.cpu_times()
                        found[(child.pid, child.create_time())] = times.user + times.system
        return found

    def _sample_backends(self) -> None:
        """Each server process's CPU time since `start` (or its own start), kept once it
        ended; a new one is `unnamed` until `sample_roles` names it."""
        for backend, cpu in self._backends().items():
            role = self._backend_cpu.get(backend, ("unnamed", 0.0))[0]
            self._backend_cpu[backend] = (role, cpu - self._backend_start.get(backend, 0.0))

    def sample_roles(self, roles: dict[int, str]) -> None:
        """Split the server's CPU time since `start`, as the last `sample` read it, by the
        role of each process (`roles`: pid → role, as `pg_load.roles` reads them now)."""
        for backend, (_, spent) in self._backend_cpu.items():
            if named := roles.get(backend[0]):
                self._backend_cpu[backend] = (named, spent)
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
        if "postgres" in self.figures:
            self._sample_backends()
            spent = sum(cpu for _, cpu in self._backend_cpu.values())
            self.figures["postgres"].cpu_s += spent

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
