"""The adapters' HTTP client: a given one is left to whoever gave it, an own one is closed."""

from __future__ import annotations

import httpx
import pytest

from services.sender.providers.http import AdapterClient
from shared.http.direct import direct_client
from shared.http.transport import Http11Transport


async def test_given_client_is_used_and_left_open() -> None:
    given = httpx.AsyncClient()
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(direct_client(1.0))
        return made[-1]

    adapter = AdapterClient(given, make)
    await adapter.aclose()
    assert adapter.http is given and not given.is_closed and made == []
    await given.aclose()


async def test_own_client_is_made_and_closed_with_the_adapter() -> None:
    adapter = AdapterClient(None, lambda: direct_client(1.0))
    assert not adapter.http.is_closed
    await adapter.aclose()
    assert adapter.http.is_closed


async def test_own_client_runs_on_the_esp_transport_unless_a_proxy_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with direct_client(1.0) as direct:
        assert isinstance(direct._transport, Http11Transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    async with direct_client(1.0) as proxied:
        assert not isinstance(proxied._transport, Http11Transport)
        assert proxied._transport_for_url(httpx.URL("https://api.sendgrid.com/")) is not (
            proxied._transport
        )  # httpx routes https calls through its proxy transport
