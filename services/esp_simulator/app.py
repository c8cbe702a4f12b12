"""`create_app(settings)`: the simulator as a FastAPI app, its webhook workers in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.esp_simulator.api.routes import control, messages
from services.esp_simulator.config import Settings
from services.esp_simulator.engine import Simulator
from shared.metrics import SIMULATOR_CALLS
from shared.service import health_router


async def _bad_request(_: Request, exc: Exception) -> JSONResponse:
    """Validation errors answer 400 with a `reason` naming the first field at fault."""
    assert isinstance(exc, RequestValidationError)
    SIMULATOR_CALLS.labels("invalid").inc()
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return JSONResponse({"reason": f"{where}: {first['msg']}", "detail": errors}, status_code=400)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The simulator app; its state is `app.state.simulator` (created here, not at import)."""
    settings = settings or Settings()
    simulator = Simulator(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        webhooks = asyncio.create_task(simulator.outbox.run(), name="webhooks")
        try:
            yield
        finally:
            webhooks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await webhooks

    app = FastAPI(
        title="Fanout ESP simulator",
        description="A bulk-send email provider with knobs, for local runs, tests and benchmarks.",
        lifespan=lifespan,
    )
    app.state.simulator = simulator
    app.state.api_key = settings.api_key.get_secret_value()
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.include_router(messages.router)
    app.include_router(control.router)
    app.include_router(health_router({}))
    return app
