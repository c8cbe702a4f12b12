"""Template failures as 422 problem documents: a preview that fails, a launch that is refused.

`detail` is the one-line reason (part, line, what failed); `errors` names the
part at fault; `extra` carries the facts a client may act on: the kind of
failure and, for a budget, the limit; for a launch, the variable and how many
matched leads lack it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.campaign_api.campaigns.launch_check import LaunchRefused, explain
from shared.http.problems import ProblemError, field_error, problem_response
from shared.templating import RenderError


def render_problem(exc: RenderError) -> ProblemError:
    """A preview that could not render for its lead."""
    facts: dict[str, Any] = {"kind": exc.kind.value, "line": exc.line}
    if exc.limit is not None:
        facts["limit"] = exc.limit
    if exc.variable is not None:
        facts["variable"] = exc.variable
    error = field_error(["template", exc.part], exc.message, f"template_{exc.kind.value}")
    return ProblemError(422, str(exc), errors=[error], extra=facts)


def launch_problem(exc: LaunchRefused) -> ProblemError:
    """A launch whose template fails for some of its matched leads: every cause in `errors`."""
    error = exc.error
    facts: dict[str, Any] = {
        "line": error.line,
        "variable": exc.variable,
        "failing_leads": exc.failing,
        "matched_leads": exc.matched,
    }
    kind = getattr(error, "kind", None)
    if kind is not None:
        facts["kind"] = kind.value
    fields = [
        field_error(
            ["template", cause.part], explain(cause, failing, exc.matched), "template_launch_check"
        )
        for cause, failing in exc.causes
    ]
    return ProblemError(422, str(exc), errors=fields, extra=facts)


def _answer(convert: Callable[[Any], ProblemError]) -> Callable[[Request, Exception], Any]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        problem = convert(exc)
        return problem_response(
            problem.status, problem.detail, errors=problem.errors, extra=problem.extra
        )

    return handle


def install_template_problems(app: FastAPI) -> None:
    """Answer `RenderError` and `LaunchRefused` raised by any route as 422 problems."""
    app.add_exception_handler(RenderError, _answer(render_problem))
    app.add_exception_handler(LaunchRefused, _answer(launch_problem))
