"""`fanout test`: lint and type-check, then pytest on the suite's own stack, stopped at the end.

    lock the checkout's test home → ruff, mypy → the suite's PostgreSQL and Kafka up
    → pytest → stop everything: services, Kafka and PostgreSQL by pid file and data
    folder, then whatever still carries the stack's mark → delete the home

The stopping runs however the run ends: success, failure, an error, Ctrl-C (SIGINT),
SIGTERM or SIGHUP (`signals.py`); a step interrupted midway is stopped first (`steps.py`).
With `keep`, a run that ends normally leaves the stack up, and the next run reuses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fanout_cli.stack import orchestrate
from fanout_cli.stack.errors import StackError
from fanout_cli.testrun.browser import CHROMIUM_VARIABLE, ensure_chromium
from fanout_cli.testrun.signals import Interrupted, handled_by, interrupt, keep_stopping
from fanout_cli.testrun.stack import MARKER, SuiteStack, default_home
from fanout_cli.testrun.steps import run_step
from fanout_cli.testrun.sweep import stop_marked

LINT = (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",))
# two pytest-xdist workers: most of the suite's time is spent waiting on Kafka, Postgres
# and services, not computing, so two share the machine's two cores (tests/workers.py)
DEFAULT_WORKERS = 2
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    """What `fanout test` was asked to do."""

    pytest_args: tuple[str, ...] = ()
    lint: bool = True
    keep: bool = False
    workers: int = 1

    def pytest_argv(self) -> list[str]:
        """pytest's arguments: with workers, xdist and the suite's way of sharing modules."""
        if self.workers == 1:
            return list(self.pytest_args)
        sharing = ["-p", "tests.workers", "-n", str(self.workers), "--dist", "loadscope"]
        return [*sharing, *self.pytest_args]


def run(options: RunOptions, say: Say) -> int:
    """Run the suite on its own stack; the exit code (128 + the signal when interrupted)."""
    with _locked(default_home()) as home:
        stack = prepare(home, say)
        environment = stack.environment(os.environ)
        os.environ.clear()
        os.environ.update(environment)  # every process from here on is on the suite's stack
        keep = options.keep
        try:
            with handled_by(interrupt):
                return _steps(stack, options, say)
        except Interrupted as exc:
            keep = False
            say(f"{exc}: stopping everything this run started")
            return 128 + exc.signum
        finally:
            with handled_by(keep_stopping):
                if keep:
                    say(f"test stack kept in {stack.home} (a run without --keep stops it)")
                else:
                    teardown(stack, say)


def prepare(home: Path, say: Say) -> SuiteStack:
    """The stack a `--keep` run left running, else a new one (after clearing leftovers)."""
    existing = SuiteStack.load(home)
    if existing is not None and orchestrate.infra_running(existing.settings()):
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
            code = run_step([sys.executable, "-m", *tool])
            if code:
                return code
    say(f"test stack: PostgreSQL and Kafka in {stack.home}")
    orchestrate.up(stack.settings(), ["infra"], lambda line: say(f"test stack: {line}"))
    chromium = _chromium(say)
    if chromium is not None:
        os.environ[CHROMIUM_VARIABLE] = str(chromium)  # the dashboard's browser tests
    return run_step([sys.executable, "-m", "pytest", *options.pytest_argv()])


def _chromium(say: Say) -> Path | None:
    """Debian's Chromium, installed if missing; None (the browser tests skip, saying so)
    only where it cannot be installed: not root, and not installed by hand."""
    log: list[str] = []
    try:
        return ensure_chromium(log)
    except StackError as exc:
        if os.geteuid() == 0:
            raise
        say(f"test stack: {exc}; the dashboard's browser tests will skip")
        return None
    finally:
        for line in log:
            say(f"test stack: {line}")


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
