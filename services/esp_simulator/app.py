"""`create_app(settings)`: the simulator as a FastAPI app, its webhook workers in the lifespan.

Beside its own bulk API it serves the provider dialects named in
`settings.dialects` (each router under `/<dialect>/`) and, when
`settings.smtp_port` is set, the SMTP dialect (started in the lifespan; the
port it got is `app.state.smtp_port`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, FastAPI

from services.esp_simulator.api.fastpath import BulkFastPath
from services.esp_simulator.api.routes import control, messages
from services.esp_simulator.config import Settings
from services.esp_simulator.dialects import mailgun, postmark, sendgrid, ses
from services.esp_simulator.dialects.runtime import Dialects
from services.esp_simulator.dialects.smtp import serve_smtp
from services.esp_simulator.dns import install_dns
from services.esp_simulator.engine import Simulator
from shared.http.problems import install_problem_handlers
from shared.service import health_router

DIALECT_ROUTERS: dict[str, APIRouter] = {
    "sendgrid": sendgrid.router,
    "mailgun": mailgun.router,
    "postmark": postmark.router,
    "ses": ses.router,
}


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.monotonic
) -> FastAPI:
    """The simulator app; its state is `app.state.simulator` (created here, not at import).

    `clock` (monotonic seconds) times its rate bucket and down window; tests pin it.
    """
    settings = settings or Settings()
    unknown = set(settings.dialects) - set(DIALECT_ROUTERS)
    if unknown:
        raise ValueError(f"unknown dialects {sorted(unknown)}; known: {sorted(DIALECT_ROUTERS)}")
    dialects = Dialects.create(settings, settings.host, settings.port)
    simulator = Simulator(settings, clock=clock, formats=dialects.formats())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        webhooks = asyncio.create_task(simulator.outbox.run(), name="webhooks")
        smtp = None
        if settings.smtp_port is not None:
            smtp = await serve_smtp(simulator, settings, settings.host)
            app.state.smtp_port = smtp.sockets[0].getsockname()[1]
        try:
            yield
        finally:
            if smtp is not None:
                smtp.close()
            webhooks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await webhooks

    app = FastAPI(
        title="Fanout ESP simulator",
        description="A bulk-send email provider with knobs, for local runs, tests and benchmarks; "
        "it also speaks SendGrid's, Mailgun's, Postmark's, SES's and SMTP's dialects.",
        lifespan=lifespan,
    )
    app.state.simulator = simulator
    app.state.dialects = dialects
    app.state.api_key = settings.common.secret("simulator_api_key")
    install_problem_handlers(app)  # the control API; the send APIs keep their ESP dialects
    app.add_middleware(BulkFastPath)  # the common bulk call without FastAPI (api/fastpath.py)
    app.include_router(messages.router)
    app.include_router(control.router)
    for name in settings.dialects:
        app.include_router(DIALECT_ROUTERS[name])
    install_dns(app)  # the records its DNS server answers (docs/domains.md)
    app.include_router(health_router({}, ops_token=settings.common.secret("ops_token")))
    return app
