"""`python -m services.esp_simulator`: serve the simulator until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

import structlog

from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings
from shared.logging import configure_logging
from shared.service import install_stop_signals, serve

log = structlog.get_logger(__name__)


async def run(settings: Settings) -> None:
    """Serve the simulator's API; the webhook workers run in the app's lifespan."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    log.info(
        "esp_simulator.start",
        host=settings.host,
        port=settings.port,
        webhook_url=settings.webhook_url,
        knobs=settings.knobs().model_dump(exclude={"webhook_url"}),
    )
    await serve(create_app(settings), host=settings.host, port=settings.port, workers=[], stop=stop)


def main() -> None:
    """Entry point of `python -m services.esp_simulator`."""
    settings = Settings()
    configure_logging("esp_simulator", settings.common.log_level)
    asyncio.run(run(settings))
