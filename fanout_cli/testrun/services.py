"""Services on the suite's stack, for the tests that need them running (e2e, benchmark).

A test starts the services it needs on the suite's stack (its home, its ports) and
stops, on the way out, the ones it started; services that were already running (a
stack kept with `fanout test --keep`) are left as they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import Instance
from fanout_cli.testrun.stack import SuiteStack
from shared.settings import CommonSettings


@contextmanager
def suite_services(stack: SuiteStack, names: Sequence[str] = ()) -> Iterator[CommonSettings]:
    """The stack's settings while `names` (every service if empty) run on it."""
    common = stack.settings()
    wanted = [s for s in SERVICES if not names or s.module in names or s.name in names]
    for service in wanted:
        if service.port != stack.service_ports[service.module]:
            raise StackError(f"{service.name}: this process's port is not the suite's")
    started = [s for s in wanted if s.process(stack.home).pid() is None]
    try:
        orchestrate.up_instances(common, [Instance(s, 1) for s in started], lambda _: None)
        yield common
    finally:
        orchestrate.stop_services(common, started, lambda _: None)
