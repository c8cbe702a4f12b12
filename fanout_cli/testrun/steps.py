"""One step of `fanout test` (ruff, mypy, pytest) as a child in its own process group.

Its own group keeps a terminal's Ctrl-C away from it: only `fanout test` gets the
signal, and asks the step to stop with one SIGINT (pytest then tears its fixtures
down, stopping the services they started), killing the whole group if the step has
not ended within `GRACE_S`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from fanout_cli.stack.kafka import REPO_ROOT
from fanout_cli.testrun.signals import handled_by, keep_stopping

GRACE_S = 60.0


def run_step(argv: list[str]) -> int:
    """Run `argv` from the repository to its end; its exit code."""
    proc = subprocess.Popen(  # noqa: S603 - our own tools, fixed arguments
        argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, process_group=0
    )
    try:
        return proc.wait()
    except BaseException:
        with handled_by(keep_stopping):
            _stop(proc)
        raise


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the step's group, SIGKILL if it has not exited within `GRACE_S`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_S
    # polled without reaping: while the step is unreaped its pid cannot name another group
    while time.monotonic() < deadline and not _exited(proc.pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
