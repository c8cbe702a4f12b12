"""Domain errors → HTTP answers, so routes raise what they mean and never answer 500."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.campaign_api.campaigns.commands import CampaignNotFound, ScheduleInPast
from services.campaign_api.leads.rows import ImportFormatError
from shared.campaigns import IllegalTransition


async def _illegal(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IllegalTransition)
    detail = {"message": str(exc), "current_state": exc.current.value, "action": exc.action.value}
    return JSONResponse({"detail": detail}, status_code=409)


async def _not_found(_: Request, __: Exception) -> JSONResponse:
    return JSONResponse({"detail": "campaign not found"}, status_code=404)


async def _schedule_in_past(_: Request, exc: Exception) -> JSONResponse:
    detail = [{"loc": ["body", "scheduled_at"], "msg": str(exc), "type": "schedule_in_past"}]
    return JSONResponse({"detail": detail}, status_code=422)


async def _bad_file(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ImportFormatError)
    detail = {"message": f"nothing imported: {exc.message}", "line": exc.line}
    return JSONResponse({"detail": detail}, status_code=422)


async def _bad_value(_: Request, exc: Exception) -> JSONResponse:
    # A value Postgres refuses (a NUL character, an out-of-range number): the transaction
    # rolled back, so nothing was written.
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return JSONResponse({"detail": f"invalid value: {message}"}, status_code=422)


async def _too_slow(_: Request, __: Exception) -> JSONResponse:
    detail = "the query took too long and was cancelled; narrow the condition or retry later"
    return JSONResponse({"detail": detail}, status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    """Register every domain error's HTTP answer."""
    app.add_exception_handler(IllegalTransition, _illegal)
    app.add_exception_handler(CampaignNotFound, _not_found)
    app.add_exception_handler(ScheduleInPast, _schedule_in_past)
    app.add_exception_handler(ImportFormatError, _bad_file)
    app.add_exception_handler(asyncpg.DataError, _bad_value)
    app.add_exception_handler(asyncpg.QueryCanceledError, _too_slow)
