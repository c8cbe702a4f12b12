"""Domain errors → problem answers, so routes raise what they mean and never answer 500."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from services.campaign_api.campaigns.commands import CampaignNotFound, ScheduleInPast
from services.campaign_api.leads.rows import ImportFormatError
from shared.campaigns import IllegalTransition
from shared.http.problems import ProblemError, invalid, problem_for

# A cancelled query (statement_timeout) usually meets a busy database: ask for a pause.
RETRY_AFTER_S = 10


def _illegal(exc: IllegalTransition) -> ProblemError:
    facts = {"current_state": exc.current.value, "action": exc.action.value}
    return ProblemError(409, str(exc), extra=facts)


def _not_found(_: CampaignNotFound) -> ProblemError:
    return ProblemError(404, "campaign not found")


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


def install_error_handlers(app: FastAPI) -> None:
    """Register every domain error's problem answer."""
    problem_for(app, IllegalTransition, _illegal)
    problem_for(app, CampaignNotFound, _not_found)
    problem_for(app, ScheduleInPast, _schedule_in_past)
    problem_for(app, ImportFormatError, _bad_file)
    problem_for(app, asyncpg.DataError, _bad_value)
    problem_for(app, asyncpg.QueryCanceledError, _too_slow)
