"""Detached processes with pid files and log files; stopping them by pid.

Every process the stack starts gets its own session (process group), a log
file under `<home>/logs/` and a pid file under `<home>/run/`. A pid file only
counts while the process behind it is alive and its command line still shows
the marker it was started with, so a recycled pid is never mistaken for ours.

A process that writes and rotates its own log (`own_log`: the services, told the
file by `FANOUT_LOG_FILE`) has its stdout and stderr in `<name>.out` instead, which
holds only what is printed before logging starts or outside it (a traceback, the line
saying why it cannot start); the others (Kafka) have them in `<name>.log`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout_cli.stack.errors import StackError


@dataclass(frozen=True)
class ManagedProcess:
    """Where one stack process keeps its pid and log."""

    name: str
    home: Path
    marker: str
    own_log: bool = False  # the process writes (and rotates) `log_file` itself

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"

    @property
    def console_file(self) -> Path:
        """Where the process's stdout and stderr go."""
        return self.home / "logs" / f"{self.name}.out" if self.own_log else self.log_file

    def pid(self) -> int | None:
        """The pid of our live process, or None (the pid file of a dead one is removed).

        A live process whose command line does not show the marker is not ours, but its
        pid file stays: a command line read while a process is starting can come back
        empty, and forgetting a starting broker for that would leave it running unseen.
        """
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _alive_with_marker(pid, self.marker):
            return pid
        if not alive(pid):
            self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        """Start detached unless already running; returns the pid."""
        existing = self.pid()
        if existing is not None:
            return existing
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.console_file.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argv is built by us, no shell
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM the process group, SIGKILL after `timeout`. True if something was stopped."""
        return bool(stop_all([self], timeout))

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the log (and of the console output, if apart), for errors."""
        files = dict.fromkeys((self.log_file, self.console_file))
        return "\n".join(filter(None, (_tail(path, lines) for path in files)))


def stop_all(processes: Sequence[ManagedProcess], timeout: float = 20.0) -> list[ManagedProcess]:
    """SIGTERM the process group of every running one at once, SIGKILL those still running
    after `timeout`; the ones that were running. Stopping side by side takes as long as the
    slowest to drain, not the sum."""
    running = [(process, pid) for process in processes if (pid := process.pid()) is not None]
    for _, pid in running:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for _, pid in running):
        time.sleep(0.1)
    for process, pid in running:
        if alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.05)
        process.pid_file.unlink(missing_ok=True)
    return [process for process, _ in running]


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _alive_with_marker(pid: int, marker: str) -> bool:
    for attempt in range(3):
        if not alive(pid):
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if cmdline:  # empty while the process execs; kernel threads: always
            return marker in cmdline.replace(b"\0", b" ").decode(errors="replace")
        time.sleep(0.05 * (attempt + 1))
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_free_port(component: str, host: str, port: int) -> None:
    """Raise a clear error when a port we must bind is taken by someone else."""
    if port_open(host, port):
        raise StackError(
            f"{component}: port {host}:{port} is already taken by another process. "
            f"Stop that process (`ss -ltnp 'sport = :{port}'` shows it) or choose another port."
        )


def wait_until(check: object, timeout: float, interval: float = 0.25) -> bool:
    """Poll a zero-argument callable until it returns truthy or `timeout` passes."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())
