"""The operations endpoints: /healthz open and bare, /readyz and /metrics behind the token.

A readiness check that fails with a message (here one naming a host and a password,
as a driver's error can) answers `unavailable` and nothing more; the message goes to
the log. Every service builds its operations endpoints with `health_router` or
`operations_app` (tests/architecture), so this holds for all of them.
"""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from shared.service.health import operations_app

TOKEN = "an-operations-token-of-the-test"
LEAK = "connect to db.internal:5432 as admin:hunter2 failed"


async def _broken() -> None:
    raise ConnectionError(LEAK)


async def _fine() -> None:
    return None


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = operations_app("probe", {"postgres": _fine, "kafka": _broken}, ops_token=TOKEN)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
async def test_get_operations_endpoint_without_token_is_401(
    client: httpx.AsyncClient, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "kafka" not in response.text and LEAK not in response.text


async def test_get_healthz_open_and_reveals_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_get_readyz_names_checks_without_their_errors(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await client.get("/readyz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"postgres": "ok", "kafka": "unavailable"},
    }
    assert "hunter2" not in response.text and "ConnectionError" not in response.text
    [logged] = [e for e in logs if e["event"] == "readiness.unavailable"]
    assert logged["check"] == "kafka" and LEAK in logged["error"]


async def test_get_metrics_with_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "python_info" in response.text
