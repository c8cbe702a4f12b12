"""`create_app(settings)`: the simulator as a FastAPI app, its webhook workers in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.esp_simulator.api.routes import control, messages
from services.esp_simulator.config import Settings
from services.esp_simulator.dns import install_dns
from services.esp_simulator.engine import Simulator
from shared.http.problems import install_problem_handlers
from shared.service import health_router


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
    app.state.api_key = settings.common.secret("simulator_api_key")
    install_problem_handlers(app)  # the control API; the bulk API keeps its ESP dialect
    app.include_router(messages.router)
    app.include_router(control.router)
    install_dns(app)  # the records its DNS server answers (docs/domains.md)
    app.include_router(health_router({}, ops_token=settings.common.secret("ops_token")))
    return app
