"""The `fanout` command run as a user runs it, and stack homes the `postgres` user can reach."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def python_module(
    env: dict[str, str], module: str, *args: str, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` from the repository with `env`; output captured, never
    raises."""
    return subprocess.run(  # noqa: S603 - our own modules, fixed arguments
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def fanout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`fanout <args>` from the repository with `env`; output captured, never raises."""
    return python_module(env, "fanout_cli.main", *args)


@contextmanager
def scratch_home(name: str) -> Iterator[Path]:
    """A fresh stack home (not yet created) in a folder anyone may traverse, deleted after.

    Not under pytest's temporary folders: every pytest session that starts makes those
    private again, and as root the PostgreSQL server runs as `postgres`, which must reach
    its data folder for as long as the stack runs.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"fanout-{name}-"))
    folder.chmod(0o755)
    try:
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
