"""Debian packages the stack and the test command need, installed with apt-get if missing.

One path for every package (PostgreSQL for the stack, Chromium for the browser tests):
as root on a machine with apt-get, `apt-get update` then `apt-get install`; otherwise a
`StackError` naming the command to run by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from fanout_cli.stack.errors import StackError


def apt_install(packages: Sequence[str], log: list[str], *, otherwise: str = "") -> None:
    """Install `packages` from Debian's archive; `otherwise` is added to the error when
    this process cannot (not root, or no apt-get)."""
    names = " ".join(packages)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            f"{names} is not installed. Install it (`sudo apt-get install {names}`){otherwise}."
        )
    log.append(f"installing {names} from Debian packages (apt-get install {names})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise StackError(
                f"`{' '.join(argv)}` failed (exit {result.returncode}):\n{result.stderr[-1500:]}"
            )
