"""Domain errors → problem answers, so routes raise what they mean and never answer 500."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.campaign_api.api.domain_errors import install_domain_error_handlers
from services.campaign_api.api.provider_errors import install_provider_error_handlers
from services.campaign_api.campaigns.commands import CampaignNotFound, GuardHold, ScheduleInPast
from services.campaign_api.campaigns.launch_check import LaunchRefused, explain
from services.campaign_api.leads.rows import ImportFormatError
from shared.campaigns import IllegalTransition
from shared.http.problems import ProblemError, field_error, invalid, problem_for
from shared.templating import RenderError

# A cancelled query (statement_timeout) usually meets a busy database: ask for a pause.
RETRY_AFTER_S = 10


def _illegal(exc: IllegalTransition) -> ProblemError:
    facts = {"current_state": exc.current.value, "action": exc.action.value}
    return ProblemError(409, str(exc), extra=facts)


def _not_found(_: CampaignNotFound) -> ProblemError:
    return ProblemError(404, "campaign not found")


def _guard_hold(exc: GuardHold) -> ProblemError:
    detail = (
        f"{exc.reason}; resume with override_guard=true to send it anyway "
        "(POST /campaigns/{id}/resume?override_guard=true; docs/deliverability.md)"
    )
    facts = {"current_state": "paused", "guard_reason": exc.reason, "override": "override_guard"}
    return ProblemError(409, detail, extra=facts)


def _schedule_in_past(exc: ScheduleInPast) -> ProblemError:
    return invalid(["body", "scheduled_at"], str(exc), "schedule_in_past")


def _bad_file(exc: ImportFormatError) -> ProblemError:
    return invalid(["body"], f"nothing imported: {exc.message}", "import_format", line=exc.line)


def _bad_value(exc: asyncpg.DataError) -> ProblemError:
    # A value Postgres refuses (a NUL character, an out-of-range number): the transaction
    # rolled back, so nothing was written.
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return ProblemError(422, f"invalid value: {message}")


def _too_slow(_: asyncpg.QueryCanceledError) -> ProblemError:
    detail = "the query took too long and was cancelled; narrow the condition or retry later"
    return ProblemError(503, detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def _not_rendered(exc: RenderError) -> ProblemError:
    # A preview: `extra` says whose fault (kind) and which limit or variable.
    facts: dict[str, Any] = {"kind": exc.kind.value, "line": exc.line}
    if exc.limit is not None:
        facts["limit"] = exc.limit
    if exc.variable is not None:
        facts["variable"] = exc.variable
    error = field_error(
        ["template", exc.part], exc.message, f"template_{exc.kind.value}", line=exc.line
    )
    return ProblemError(422, str(exc), errors=[error], extra=facts)


def _launch_refused(exc: LaunchRefused) -> ProblemError:
    # Every cause in `errors` (costliest first); the first one in `detail` and `extra`.
    facts: dict[str, Any] = {
        "line": exc.error.line,
        "variable": exc.variable,
        "failing_leads": exc.failing,
        "matched_leads": exc.matched,
    }
    kind = getattr(exc.error, "kind", None)
    if kind is not None:
        facts["kind"] = kind.value
    errors = [
        field_error(
            ["template", cause.part],
            explain(cause, failing, exc.matched),
            "template_launch_check",
            line=cause.line,
        )
        for cause, failing in exc.causes
    ]
    return ProblemError(422, str(exc), errors=errors, extra=facts)


def install_error_handlers(app: FastAPI) -> None:
    """Register every domain error's problem answer."""
    problem_for(app, IllegalTransition, _illegal)
    problem_for(app, CampaignNotFound, _not_found)
    problem_for(app, GuardHold, _guard_hold)
    problem_for(app, ScheduleInPast, _schedule_in_past)
    problem_for(app, ImportFormatError, _bad_file)
    problem_for(app, asyncpg.DataError, _bad_value)
    problem_for(app, asyncpg.QueryCanceledError, _too_slow)
    problem_for(app, RenderError, _not_rendered)
    problem_for(app, LaunchRefused, _launch_refused)
    install_domain_error_handlers(app)
    install_provider_error_handlers(app)
