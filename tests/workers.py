"""How `fanout test` shares the suite between pytest-xdist workers (`fanout test --workers`).

Whole modules go to one worker, as `--dist loadscope` would send them: a module-scoped
fixture (a private stack, a broker) starts once, not on each worker. The modules that
start services on the suite's own stack (its ports, database and topics) form one unit
of their own: they run one after another on one worker, as in a run without workers.
Modules with a `slow` test are handed out first, so that the last units are short ones
and neither worker sits idle while the other finishes a long module.

Loaded with `-p tests.workers` by `fanout test` only when it runs workers.

A worker starts with COLUMNS=80 and LINES=24 in its environment. rich's consoles, made
when `fanout_cli.output` is imported, would keep that width for good, and the CLI tests
that set COLUMNS for one command (to keep a message on one line) would see it wrapped
at 80; without them, a worker's consoles follow COLUMNS as a run without workers does.
"""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScopeScheduling

# the modules that start services on the suite's stack (`suite_stack`, `suite_services`),
# and those that count the benchmark's scratch databases (fanout_bench_*) on its PostgreSQL
SUITE_STACK = (
    "tests/e2e/",
    "tests/bench/",
    "tests/testrun/probe/",
    "tests/fanout_cli/test_bench_isolated.py",
    "tests/fanout_cli/test_bench_templates.py",
)
SUITE_STACK_UNIT = "suite-stack"

if os.environ.get("PYTEST_XDIST_WORKER"):  # imported before the suite's modules (-p)
    for variable in ("COLUMNS", "LINES"):
        os.environ.pop(variable, None)


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, or the suite stack's unit."""
    module = nodeid.split("::", 1)[0]
    return SUITE_STACK_UNIT if module.startswith(SUITE_STACK) else module


class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """`loadscope` by module (not by class), with the suite stack's modules as one unit."""

    def __init__(self, config: pytest.Config, log: object = None) -> None:
        super().__init__(config, log)
        # the order of the collection (slow modules first, `pytest_collection_modifyitems`)
        # is the order units are handed out in, not one by the number of tests
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which would answer first
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ModuleScheduling:
    return ModuleScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Units with a `slow` test first (the collection's order kept within each group)."""
    slow = {scope_of(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: scope_of(item.nodeid) not in slow)
