"""Schemathesis against the OpenAPI schema of a uvicorn-served app: no operation answers 5xx.

Every operation gets a bounded number of generated requests (valid and invalid
by the schema), authenticated with a real key; path parameters are drawn at
random and also pinned to real objects of the account, so the deeper
validation paths run too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MAX_EXAMPLES = 20
SKIPPED = {"/readyz"}  # asks the broker each time; covered by test_auth


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served_api(base_settings: CommonSettings, pg_dsn: str) -> Iterator[str]:
    """The app under uvicorn in a thread of its own (its own loop and pool); its base URL."""
    common = base_settings.model_copy(update={"database_url": pg_dsn})
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(common=common)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def _fuzz(base_url: str, key: str, pinned: dict[str, str], statuses: Counter[int]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"invalid operation in the schema: {result.err()}")
            continue
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        names = {p.name for p in operation.path_parameters}
        fixed = {name: pinned[name] for name in names if name in pinned}
        variants = [{}, fixed] if fixed else [{}]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in variants:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )
                _run(strategy, base_url, headers, failures, statuses)
    return failures


def _run(
    strategy: Any,
    base_url: str,
    headers: dict[str, str],
    failures: list[str],
    statuses: Counter[int],
) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{case.as_curl_command(headers=headers)}"
            )

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists for some operations
        check()


async def test_schemathesis_finds_no_server_error(served_api: str, tenant: Tenant) -> None:
    lead = await make_lead(tenant.client, email="fuzz@example.com", attributes={"plan": "pro"})
    campaign = await make_campaign(tenant.client)
    pinned = {
        "lead_id": lead["id"],
        "template_id": campaign["template_id"],
        "campaign_id": campaign["id"],
        "email": "fuzz@example.com",
    }
    statuses: Counter[int] = Counter()
    failures = await asyncio.to_thread(_fuzz, served_api, tenant.key, pinned, statuses)
    assert failures == []
    # the run really exercised the API: many requests, and past validation into the handlers
    assert sum(statuses.values()) > 500
    assert statuses[200] + statuses[201] + statuses[202] + statuses[204] > 50
    assert statuses[422] > 50
