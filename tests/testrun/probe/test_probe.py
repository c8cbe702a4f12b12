"""The pytest selection the isolation tests run inside `fanout test`.

It starts a service on the suite's stack as the e2e tests do, writes where it runs to
the file named by TESTRUN_PROBE, and with TESTRUN_PROBE_HOLD set waits there
until the run is interrupted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fanout_cli.stack.components import service_named
from fanout_cli.testrun.services import suite_services
from fanout_cli.testrun.stack import SuiteStack


def test_probe_runs_a_service_on_the_suite_stack(suite_stack: SuiteStack) -> None:
    report = Path(os.environ["TESTRUN_PROBE"])
    with suite_services(suite_stack, ["esp_simulator"]):
        pid = service_named("esp_simulator").process(suite_stack.home).pid()
        assert pid is not None
        partial = report.with_suffix(".partial")
        partial.write_text(json.dumps({"pytest": os.getpid(), "service": pid}))
        partial.rename(report)
        if os.environ.get("TESTRUN_PROBE_HOLD"):
            time.sleep(900)  # held here until the isolation test interrupts the run
