"""The adapters' HTTP client: a given one is left to whoever gave it, an own one is closed."""

from __future__ import annotations

import httpx

from services.sender.providers.http import AdapterClient, client


async def test_given_client_is_used_and_left_open() -> None:
    given = httpx.AsyncClient()
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(client(1.0))
        return made[-1]

    adapter = AdapterClient(given, make)
    await adapter.aclose()
    assert adapter.http is given and not given.is_closed and made == []
    await given.aclose()


async def test_own_client_is_made_and_closed_with_the_adapter() -> None:
    adapter = AdapterClient(None, lambda: client(1.0))
    assert not adapter.http.is_closed
    await adapter.aclose()
    assert adapter.http.is_closed
