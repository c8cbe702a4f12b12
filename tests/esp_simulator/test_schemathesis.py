"""Schemathesis against the ESP simulator's OpenAPI schema (control and bulk-send APIs),
served by uvicorn: no 5xx. Requests carry the simulator's API key (`tests/fuzz.py`)."""

from __future__ import annotations

import pytest

from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings
from tests.fuzz import fuzz, serving

pytestmark = [pytest.mark.slow]


async def test_schemathesis_finds_no_server_error() -> None:
    settings = Settings(webhook_url="", seed=7)
    async with serving(create_app(settings)) as base_url:
        headers = {"Authorization": f"Bearer {settings.common.secret('simulator_api_key')}"}
        run = await fuzz(base_url, headers, max_examples=50)  # fast: no database behind it
    assert run.failures == []
    assert run.sent > 150
    assert run.count(200) > 50
    assert run.statuses[422] > 30
