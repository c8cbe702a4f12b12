"""Fixtures: a running simulator and an HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.esp_simulator.config import Settings
from services.esp_simulator.testing import running_simulator


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    """A fresh simulator (no webhooks) and a client on its base URL."""
    async with (
        running_simulator(Settings(webhook_url="", seed=7)) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        yield client
