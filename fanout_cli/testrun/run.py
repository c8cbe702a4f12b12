"""`fanout test`: lint and type-check, then pytest on the suite's own stack, stopped at the end.

    lock the checkout's test home → ruff, mypy → the suite's PostgreSQL and Kafka up
    → pytest → stop everything: services, Kafka and PostgreSQL by pid file and data
    folder, then whatever still carries the stack's mark → delete the home

The stopping runs however the run ends: success, failure, an error, Ctrl-C (SIGINT),
SIGTERM or SIGHUP. Each step runs in its own process group, so a terminal's Ctrl-C
reaches this process only; it then asks the step to stop (SIGINT, on which pytest tears
its fixtures down, stopping the services it started) and kills the step's group if it
has not ended within `GRACE_S`. With `keep`, a run that ends normally leaves the stack
up, and the next run reuses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from fanout_cli.stack import orchestrate
from fanout_cli.stack import postgres as pg
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.kafka import REPO_ROOT
from fanout_cli.testrun.stack import MARKER, SuiteStack, default_home
from fanout_cli.testrun.sweep import stop_marked

GRACE_S = 60.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
LINT = (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",))
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    """What `fanout test` was asked to do."""

    pytest_args: tuple[str, ...] = ()
    lint: bool = True
    keep: bool = False


class Interrupted(Exception):  # noqa: N818 - it is the event, not an error
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run(options: RunOptions, say: Say) -> int:
    """Run the suite on its own stack; the exit code (128 + the signal when interrupted)."""
    with _locked(default_home()) as home:
        stack = prepare(home, say)
        environment = stack.environment(os.environ)
        os.environ.clear()
        os.environ.update(environment)  # every process from here on is on the suite's stack
        keep = options.keep
        try:
            with _signals(_raise):
                return _steps(stack, options, say)
        except Interrupted as exc:
            keep = False
            say(f"{exc}: stopping everything this run started")
            return 128 + exc.signum
        finally:
            with _signals(_ignore):
                if keep:
                    say(f"test stack kept in {stack.home} (a run without --keep stops it)")
                else:
                    teardown(stack, say)


def prepare(home: Path, say: Say) -> SuiteStack:
    """The stack a `--keep` run left running, else a new one (after clearing leftovers)."""
    existing = SuiteStack.load(home)
    if existing is not None and _running(existing):
        say(f"test stack: reusing the one running in {home}")
        return existing
    if home.exists():
        say(f"test stack: clearing what an earlier run left in {home}")
        teardown(existing or SuiteStack.allocate(home), say)
    stack = SuiteStack.allocate(home)
    stack.save()
    return stack


def teardown(stack: SuiteStack, say: Say) -> None:
    """Stop every process of `stack` and delete its home."""
    try:
        orchestrate.down(stack.settings(), False, lambda line: say(f"test stack: {line}"))
    except StackError as exc:
        say(f"test stack: {exc}")
    strays = stop_marked(MARKER, stack.id)
    if strays:
        say(f"test stack: stopped {len(strays)} stray process(es) by its mark: {strays}")
    shutil.rmtree(stack.home, ignore_errors=True)
    say(f"test stack: stopped, {stack.home} removed")


def _steps(stack: SuiteStack, options: RunOptions, say: Say) -> int:
    if options.lint:
        for tool in LINT:
            code = _step([sys.executable, "-m", *tool])
            if code:
                return code
    say(f"test stack: PostgreSQL and Kafka in {stack.home}")
    orchestrate.up(stack.settings(), ["infra"], lambda line: say(f"test stack: {line}"))
    return _step([sys.executable, "-m", "pytest", *options.pytest_args])


def _step(argv: list[str]) -> int:
    """Run one step in its own process group; stop it if this run is interrupted."""
    proc = subprocess.Popen(  # noqa: S603 - our own tools, fixed arguments
        argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, process_group=0
    )
    try:
        return proc.wait()
    except BaseException:
        with _signals(_ignore):
            _stop_step(proc)
        raise


def _stop_step(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the step's group, SIGKILL if it has not exited within `GRACE_S`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_S
    # poll without reaping: while the step is unreaped its pid cannot name another group
    while time.monotonic() < deadline and not _exited(proc.pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _exited(pid: int) -> bool:
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None


def _running(stack: SuiteStack) -> bool:
    bindir = pg._bindir()
    common = stack.settings()
    postgres = bindir is not None and pg.is_running(bindir, orchestrate._pg_target(common))
    return postgres and orchestrate.broker(common).running()


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[Path]:
    """Hold the checkout's test-home lock: one `fanout test` per home at a time."""
    _make_dirs(home.parent)
    lock = home.parent / f".{home.name}.lock"
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(
                f"another `fanout test` is running on {home} (lock {lock}); wait for it"
            ) from None
        try:
            yield home
        finally:
            lock.unlink(missing_ok=True)


def _make_dirs(folder: Path) -> None:
    """Create `folder`; as root, readable by all, as the `postgres` user must traverse it."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir()
        if os.geteuid() == 0:
            path.chmod(0o755)


@contextlib.contextmanager
def _signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _ignore(signum: int, _frame: FrameType | None) -> None:
    print(f"{signal.Signals(signum).name}: still stopping the test stack", file=sys.stderr)  # noqa: T201
