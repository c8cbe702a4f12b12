"""The browser the dashboard's tests drive: Debian's `chromium`, installed if missing.

Playwright for Python drives it through `executable_path`; Playwright's own browser
downloads are never used (`fanout test` installs Chromium through apt-get, as the stack
installs PostgreSQL: `fanout_cli.stack.debian`). The tests find it by `CHROMIUM_VARIABLE`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fanout_cli.stack.debian import apt_install
from fanout_cli.stack.errors import StackError

CHROMIUM_VARIABLE = "FANOUT_TEST_CHROMIUM"
NAMES = ("chromium", "chromium-browser")


def find_chromium() -> Path | None:
    """The Chromium binary on this machine, if any."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def ensure_chromium(log: list[str]) -> Path:
    """The Chromium binary, installing Debian's `chromium` package if it is missing."""
    found = find_chromium()
    if found is not None:
        return found
    apt_install(["chromium"], log, otherwise=" to run the dashboard's browser tests")
    found = find_chromium()
    if found is None:
        raise StackError("apt-get installed chromium but no chromium binary was found")
    return found
