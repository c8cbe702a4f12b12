"""`python -m services.esp_simulator`: serve the simulator until SIGTERM/SIGINT.

It needs no other service: the webhook workers run in the app's lifespan, which
the start-up path enters before serving; its DNS server (UDP, `dns_port`) is opened
on the start-up stack beside the HTTP port.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog

from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings
from services.esp_simulator.dns import serving_dns, zone_of
from shared.service import Started, run_service

log = structlog.get_logger(__name__)


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """The simulator's API and DNS server; webhooks are posted by the workers of its lifespan."""
    log.info(
        "esp_simulator.start",
        host=settings.host,
        port=settings.port,
        webhook_url=settings.webhook_url,
        knobs=settings.knobs().model_dump(exclude={"webhook_url"}),
    )
    app = create_app(settings)
    await stack.enter_async_context(serving_dns(zone_of(app), settings.host, settings.dns_port))
    return Started(app)


def main() -> None:
    """Entry point of `python -m services.esp_simulator`."""
    run_service("esp_simulator", Settings, start)
