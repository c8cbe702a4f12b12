"""The CLI's calls to campaign_api, through its generated client (`fanout_client`).

`fanout_client` is generated from campaign_api's OpenAPI document (clients/python,
`make client`). Each generated operation answers its parsed body: the declared model on
success, a `Problem` for an error the API declares, None for an undeclared status.
`checked` turns all but success into a `StackError` naming the step, as the demo, the
chaos suite and the benchmark report failures. The lead import streams a CSV or NDJSON
body, which the generator does not model, so `import_leads` posts it through the
client's own httpx client (same address, key and timeouts), as any user of the client can.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import httpx
from fanout_client import AuthenticatedClient
from fanout_client.models import ImportResult, Problem
from fanout_client.types import Response

from fanout_cli.stack.errors import StackError
from shared.http.client import error_line

T = TypeVar("T")
IMPORT_PATH = "/leads/import"


def api_client(base_url: str, api_key: str, timeout_s: float = 600.0) -> AuthenticatedClient:
    """A client of campaign_api at `base_url` authenticated with `api_key`.

    Absolute URLs given to its httpx client (`get_httpx_client()`) reach other services
    with the same key, as the demo reads reports and drives the simulator."""
    return AuthenticatedClient(
        base_url=base_url, token=api_key, timeout=httpx.Timeout(timeout_s, connect=5.0)
    )


def checked(response: Response[T | Problem], what: str) -> T:
    """The answer's model, or a `StackError` naming `what` failed and the API's detail."""
    parsed = response.parsed
    if response.status_code >= 400 or parsed is None or isinstance(parsed, Problem):
        raw = httpx.Response(response.status_code, content=response.content)
        raise StackError(f"{what} failed: {error_line(raw)}")
    return parsed


def import_leads(
    client: AuthenticatedClient, body: bytes | Iterable[bytes], content_type: str
) -> ImportResult:
    """Import leads from a CSV (`text/csv`) or NDJSON (`application/x-ndjson`) body,
    streamed when `body` is an iterable of chunks."""
    response = client.get_httpx_client().post(
        IMPORT_PATH, content=body, headers={"Content-Type": content_type}
    )
    if response.status_code >= 400:
        raise StackError(f"importing leads failed: {error_line(response)}")
    return ImportResult.from_dict(response.json())
