"""Python code run in a child process of its own (a fresh interpreter: chDB loaded anew)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, folder: Path) -> str:
    """The last line `code` printed, run with `folder` as its argument from the repository;
    fails the test with the child's error output if it did not exit cleanly."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]
