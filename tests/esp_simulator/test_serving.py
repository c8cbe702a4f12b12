"""`serving` reports an app that cannot start as an error of its caller, not SystemExit
(which uvicorn raises and which would end the whole test session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from services.esp_simulator.testing import serving


@asynccontextmanager
async def _refusing(_app: FastAPI) -> AsyncIterator[None]:
    raise OSError("port taken")
    yield  # pragma: no cover - never reached


async def test_app_whose_start_fails_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="stopped before it started"):
        async with serving(FastAPI(lifespan=_refusing)):
            pytest.fail("served an app that could not start")


async def test_app_that_starts_is_served() -> None:
    async with serving(FastAPI()) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
