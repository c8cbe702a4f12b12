"""The `fanout` command run as a user runs it: a subprocess with its own environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fanout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`fanout <args>` from the repository with `env`; output captured, never raises."""
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "fanout_cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
