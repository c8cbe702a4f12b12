"""Checked calls to the stack's HTTP APIs that the demo, the chaos suite and the bench share.

`checked_json` turns a failed answer into a `StackError` naming the step. A campaign
sends only from a verified domain (docs/domains.md), so a fresh account first gets
one with `verified_domain`: registered in campaign_api, its records published in
the ESP simulator's DNS zone (which the stack's campaign_api asks, `components.py`),
then verified, exactly the steps a customer takes with a real DNS host.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from fanout_client import AuthenticatedClient
from fanout_client.api.domains import register_domain, verify
from fanout_client.api.providers import create_provider
from fanout_client.models import DomainCreate, ProviderConfigCreate

from fanout_cli.api_client import checked
from fanout_cli.stack.errors import StackError
from shared.http.client import error_line

PARENT_DOMAIN = "fanout.example"  # reserved for examples (RFC 2606): nobody's real zone


def checked_json(response: httpx.Response, what: str) -> Any:
    """The response's JSON body, or a clear `StackError` naming `what` failed."""
    if response.status_code >= 400:
        raise StackError(f"{what} failed: {error_line(response)}")
    return response.json()


def account_domain(label: str, account_id: UUID) -> str:
    """A sending domain of one account: a verified name belongs to one account only, so
    every demo, chaos or bench account sends from a name of its own."""
    return f"{label}-{account_id.hex[:12]}.{PARENT_DOMAIN}"


def verified_domain(client: AuthenticatedClient, simulator: str, name: str) -> str:
    """Register `name` for the client's account, publish the records it shows in the
    simulator's DNS and verify it; returns the domain."""
    body = DomainCreate(name=name)
    domain = checked(register_domain.sync_detailed(client=client, body=body), "registering domain")
    records = [{k: r.to_dict()[k] for k in ("type", "name", "value")} for r in domain.records]
    published = client.get_httpx_client().post(f"{simulator}/v1/dns", json={"records": records})
    checked_json(published, "publishing DNS records")
    checked(verify.sync_detailed(domain.id, client=client), "verifying domain")
    return domain.name


def dialect_provider(
    client: AuthenticatedClient, kind: str, config: tuple[dict[str, Any], dict[str, Any]]
) -> UUID:
    """A provider configuration of the client's account of `kind`, with `config`'s settings
    and credentials (the simulator's dialect of it); returns its id."""
    settings, credentials = config
    body = ProviderConfigCreate.from_dict(
        {"name": f"{kind}-dialect", "kind": kind, "settings": settings, "credentials": credentials}
    )
    created = checked(
        create_provider.sync_detailed(client=client, body=body), f"configuring {kind}"
    )
    return created.id
