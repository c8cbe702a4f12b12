"""`fanout test` (what `make test` runs): the suite on a stack of its own."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fanout_cli.output import fail, say
from fanout_cli.stack.errors import StackError
from fanout_cli.testrun.run import DEFAULT_WORKERS, RunOptions, run
from shared.errors import DependencyUnavailable

PASS_THROUGH: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


def test_command(
    ctx: typer.Context,
    lint: Annotated[bool, typer.Option(help="Run ruff and mypy before pytest.")] = True,
    keep: Annotated[
        bool, typer.Option(help="Leave the test stack up for the next run (which reuses it).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="pytest-xdist workers sharing the suite (whole modules each; 1: no workers).",
        ),
    ] = DEFAULT_WORKERS,
) -> None:
    """Lint, type-check and run every test on a stack of the suite's own (`make test`).

    The test stack has its own home (one per checkout; FANOUT_TEST_HOME chooses another),
    free ports, database and topic prefix; it never touches a stack it did not start.
    Everything it starts is stopped when the run ends, also on Ctrl-C or SIGTERM. Extra
    arguments go to pytest: `fanout test --no-lint -- tests/campaign_api -x`.
    """
    options = RunOptions(pytest_args=tuple(ctx.args), lint=lint, keep=keep, workers=workers)
    try:
        code = run(options, say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)
