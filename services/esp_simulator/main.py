"""`python -m services.esp_simulator`: serve the simulator until SIGTERM/SIGINT.

It needs no other service: its only resource, the webhook workers, runs in the
app's lifespan, which the start-up path enters before serving.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog

from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings
from shared.service import Started, run_service

log = structlog.get_logger(__name__)


async def start(settings: Settings, _stack: AsyncExitStack) -> Started:
    """The simulator's API; webhooks are posted by the workers of its lifespan."""
    log.info(
        "esp_simulator.start",
        host=settings.host,
        port=settings.port,
        webhook_url=settings.webhook_url,
        knobs=settings.knobs().model_dump(exclude={"webhook_url"}),
    )
    return Started(create_app(settings))


def main() -> None:
    """Entry point of `python -m services.esp_simulator`."""
    run_service("esp_simulator", Settings, start)
