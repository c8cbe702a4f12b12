"""The running stack of the end-to-end tests: every service on the suite's own stack.

Started once for the package and stopped after its last test, so the modules here share
one start-up; outside `fanout test` the tests skip (`suite_stack`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fanout_cli.testrun.services import suite_services
from fanout_cli.testrun.stack import SuiteStack
from shared.settings import CommonSettings


@pytest.fixture(scope="package")
def stack(suite_stack: SuiteStack) -> Iterator[CommonSettings]:
    """The services on the suite's own stack, started for this package and stopped after.

    report_sink recomputes a campaign's line of the campaign list at most every second, not
    every 5 s: docs/api.md reads that list right after its campaign completes, and on a
    loaded machine (two workers) the line could still be the one computed at its start.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FANOUT_REPORT_SINK_SUMMARY_INTERVAL_S", "1")
        with suite_services(suite_stack) as common:
            yield common
