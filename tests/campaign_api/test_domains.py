"""Sending domains (issue 11, item 4): register, publish, verify through DNS, send only from them.

Against the real services: campaign_api's routes on the session database, and the
ESP simulator's UDP DNS server in-process (`local_dns`), which answers exactly the
records a test publishes in its zone, as a domain's owner would at their DNS host.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Collection
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from fanout_cli.api_client import api_client
from fanout_cli.demo.api_calls import account_domain, verified_domain
from services.campaign_api.domains.dkim import open_private_key
from services.campaign_api.domains.lookup import ResolverUnavailable, TxtLookup
from services.campaign_api.domains.settings import DomainSettings
from services.esp_simulator.app import create_app as create_simulator
from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.dns import PublishedRecord
from services.esp_simulator.testing import serving
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import CONDITION, create, make_campaign, make_template
from tests.domains import TEST_KEY_BITS, LocalDns, unique_domain

pytestmark = pytest.mark.postgres


async def _register(tenant: Tenant, name: str) -> dict[str, Any]:
    return await create(tenant.client, "/domains", {"name": name})


def _publish(dns: LocalDns, domain: dict[str, Any], skip: Collection[str] = ()) -> None:
    """Publish the records the API showed for `domain`, but those of the purposes in `skip`."""
    dns.zone.publish(
        PublishedRecord(r["type"], r["name"], r["value"])
        for r in domain["records"]
        if r["purpose"] not in skip
    )


async def _verify(tenant: Tenant, domain: dict[str, Any]) -> Any:
    return await tenant.client.post(f"/domains/{domain['id']}/verify")


async def _status(tenant: Tenant, domain: dict[str, Any]) -> str:
    got = await tenant.client.get(f"/domains/{domain['id']}")
    status: str = got.json()["status"]
    return status


async def _campaign_body(tenant: Tenant, **fields: str) -> dict[str, Any]:
    template = await make_template(tenant.client)
    return {"name": "c", "template_id": template["id"], "condition": CONDITION, **fields}


async def test_register_shows_the_records_to_publish(tenant: Tenant) -> None:
    name = unique_domain()
    domain = await _register(tenant, f" {name.upper()}. ")  # normalised as addresses are
    assert (domain["name"], domain["status"], domain["verified_at"]) == (name, "pending", None)
    shown = {r["purpose"]: r for r in domain["records"]}
    assert [(p, r["name"], r["required"]) for p, r in shown.items()] == [
        ("ownership", f"_fanout.{name}", True),
        ("spf", name, True),
        ("dkim", f"fanout._domainkey.{name}", True),
        ("dmarc", f"_dmarc.{name}", False),
    ]
    assert shown["ownership"]["value"].startswith("fanout-verification=")
    assert shown["spf"]["value"] == "v=spf1 include:amazonses.com ~all"
    assert shown["dmarc"]["value"].startswith("v=DMARC1; p=none")
    prefix, _, key = shown["dkim"]["value"].partition("p=")
    assert prefix == "v=DKIM1; k=rsa; "
    public = serialization.load_der_public_key(base64.b64decode(key))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == TEST_KEY_BITS
    # a second registration has its own token and key
    again = await _register(tenant, unique_domain())
    assert again["records"][0]["value"] != shown["ownership"]["value"]
    assert again["records"][2]["value"] != shown["dkim"]["value"]


async def test_verify_with_records_published_makes_the_domain_usable(
    tenant: Tenant, local_dns: LocalDns
) -> None:
    domain = await _register(tenant, unique_domain())
    body = await _campaign_body(tenant, from_email=f"news@{domain['name']}")
    assert (await tenant.client.post("/campaigns", json=body)).status_code == 422
    _publish(local_dns, domain, skip={"dmarc"})  # DMARC is advice, not a requirement
    verified = await _verify(tenant, domain)
    assert verified.status_code == 200, verified.text
    got = verified.json()
    assert got["status"] == "verified" and got["verified_at"] is not None
    outcomes = {c["purpose"]: c["outcome"] for c in got["checks"]}
    assert outcomes == {"ownership": "found", "spf": "found", "dkim": "found", "dmarc": "missing"}
    assert (await tenant.client.post("/campaigns", json=body)).status_code == 201
    again = await _verify(tenant, domain)  # idempotent
    assert (again.status_code, again.json()["verified_at"]) == (200, got["verified_at"])


@pytest.mark.parametrize(
    ("skip", "replace", "failing"),
    [
        ({"dkim"}, None, ("dkim", "dns_record_missing")),
        ({"ownership"}, None, ("ownership", "dns_record_missing")),
        ({"spf"}, ("spf", "v=spf1 include:sendgrid.net ~all"), ("spf", "dns_record_mismatch")),
        ({"dkim"}, ("dkim", "v=DKIM1; k=rsa; p=AAAA"), ("dkim", "dns_record_mismatch")),
    ],
)
async def test_verify_with_a_record_missing_or_wrong_is_422_naming_it(
    tenant: Tenant,
    local_dns: LocalDns,
    pool: asyncpg.Pool,
    skip: set[str],
    replace: tuple[str, str] | None,
    failing: tuple[str, str],
) -> None:
    domain = await _register(tenant, unique_domain())
    _publish(local_dns, domain, skip=skip)
    if replace is not None:
        [where] = [r["name"] for r in domain["records"] if r["purpose"] == replace[0]]
        local_dns.zone.publish([PublishedRecord("TXT", where, replace[1])])
    response = await _verify(tenant, domain)
    assert response.status_code == 422, response.text
    problem = response.json()
    [error] = problem["errors"]
    assert (error["loc"], error["type"]) == (["dns", failing[0]], failing[1])
    assert failing[0].upper() in error["msg"].upper() or "token" in error["msg"]
    assert len(problem["extra"]["checks"]) == 4
    assert await _status(tenant, domain) == "pending"
    verified_at = "SELECT verified_at FROM sending_domains WHERE id = $1"
    assert await pool.fetchval(verified_at, domain["id"]) is None


async def test_a_second_account_cannot_verify_a_verified_domain(
    make_tenant: TenantFactory, local_dns: LocalDns, pool: asyncpg.Pool
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    name = unique_domain()
    theirs = await _register(owner, name)
    _publish(local_dns, theirs)
    assert (await _verify(owner, theirs)).status_code == 200
    # the other account may register the name and even publish its records beside the owner's
    mine = await _register(other, name)
    _publish(local_dns, mine)
    refused = await _verify(other, mine)
    assert refused.status_code == 409, refused.text
    assert str(owner.account_id) not in refused.text  # who holds it is never said
    assert await _status(other, mine) == "pending"
    rows = await pool.fetch(
        "SELECT account_id FROM sending_domains WHERE name = $1 AND verified_at IS NOT NULL", name
    )
    assert [r["account_id"] for r in rows] == [owner.account_id]
    body = await _campaign_body(other, from_email=f"news@{name}")
    response = await other.client.post("/campaigns", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "from_email"]


@pytest.mark.parametrize("field", ["from_email", "reply_to"])
@pytest.mark.parametrize("registered", [False, True])
async def test_create_campaign_from_an_unverified_domain_is_422_naming_the_field(
    tenant: Tenant, field: str, registered: bool
) -> None:
    name = unique_domain()
    if registered:
        await _register(tenant, name)
    body = await _campaign_body(tenant, **{"from_email": tenant.sender, field: f"x@{name}"})
    response = await tenant.client.post("/campaigns", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    [error] = problem["errors"]
    assert (error["loc"], error["type"]) == (["body", field], "domain_unverified")
    assert problem["extra"]["domain"] == name
    assert ("registered but not verified" in error["msg"]) is registered
    assert (await tenant.client.get("/campaigns")).json()["items"] == []
    # an edit is checked the same way
    draft = await make_campaign(tenant.client)
    edited = await tenant.client.patch(f"/campaigns/{draft['id']}", json={field: f"x@{name}"})
    assert edited.status_code == 422
    assert edited.json()["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("field", ["from_email", "reply_to"])
async def test_launch_from_a_domain_no_longer_verified_is_422_naming_the_field(
    tenant: Tenant, local_dns: LocalDns, pool: asyncpg.Pool, field: str
) -> None:
    domain = await _register(tenant, unique_domain())
    _publish(local_dns, domain)
    assert (await _verify(tenant, domain)).status_code == 200
    address = {field: f"x@{domain['name']}"}
    draft = await make_campaign(tenant.client, **{"from_email": tenant.sender, **address})
    # deleting the domain of a draft is allowed; the launch is then refused
    assert (await tenant.client.delete(f"/domains/{domain['id']}")).status_code == 204
    response = await tenant.client.post(f"/campaigns/{draft['id']}/launch")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["campaign", field]
    assert (await tenant.client.get(f"/campaigns/{draft['id']}")).json()["state"] == "draft"
    outbox = "SELECT count(*) FROM outbox WHERE key = $1"
    assert await pool.fetchval(outbox, draft["id"].encode()) == 0


async def test_a_launched_campaigns_domain_cannot_be_deleted(tenant: Tenant) -> None:
    draft = await make_campaign(tenant.client)
    assert (await tenant.client.post(f"/campaigns/{draft['id']}/launch")).status_code == 202
    [domain] = (await tenant.client.get("/domains")).json()["items"]
    refused = await tenant.client.delete(f"/domains/{domain['id']}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["extra"]["campaign_ids"] == [draft["id"]]
    assert (await tenant.client.get(f"/domains/{domain['id']}")).status_code == 200


async def test_dkim_private_key_is_sealed_at_rest(
    tenant: Tenant, pool: asyncpg.Pool, base_settings: CommonSettings
) -> None:
    domain = await _register(tenant, unique_domain())
    sealed = await pool.fetchval(
        "SELECT dkim_private_key FROM sending_domains WHERE id = $1", domain["id"]
    )
    assert b"PRIVATE KEY" not in sealed  # no PEM
    key = open_private_key(sealed, base_settings.secret("dkim_key_secret"))
    # no piece of the key, as DER or its base64 (a check for the 3 characters `MII`, which
    # begin that base64, also failed now and then: a random token of ~2,000 base64url
    # characters holds them about one time in 130)
    secret_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for text in (secret_der, base64.b64encode(secret_der), base64.urlsafe_b64encode(secret_der)):
        assert not any(text[i : i + 24] in sealed for i in range(0, len(text) - 24, 24))
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert f"p={base64.b64encode(der).decode()}" in domain["records"][2]["value"]
    with pytest.raises(InvalidToken):
        open_private_key(sealed, "another secret")


async def test_another_accounts_domain_is_404(
    make_tenant: TenantFactory, local_dns: LocalDns
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    domain = await _register(owner, unique_domain())
    _publish(local_dns, domain)
    path = f"/domains/{domain['id']}"
    assert (await other.client.get(path)).status_code == 404
    assert (await other.client.post(f"{path}/verify")).status_code == 404
    assert (await other.client.delete(path)).status_code == 404
    listed = (await other.client.get("/domains")).json()["items"]
    assert [d["name"] for d in listed] == [other.domain]
    assert await _status(owner, domain) == "pending"  # nothing the other did changed it


@pytest.mark.parametrize(
    "name",
    ["", "news@example.com", "exa mple.com", "a..example.com", "-a.example.com", "x" * 300, 7],
)
async def test_register_an_invalid_name_is_422_naming_it(tenant: Tenant, name: object) -> None:
    response = await tenant.client.post("/domains", json={"name": name})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
    assert len((await tenant.client.get("/domains")).json()["items"]) == 1  # its own only


async def test_register_the_same_name_twice_is_409(tenant: Tenant) -> None:
    first = await _register(tenant, unique_domain())
    again = await tenant.client.post("/domains", json={"name": first["name"]})
    assert again.status_code == 409
    assert again.json()["extra"]["domain_id"] == first["id"]


async def test_a_resolver_that_does_not_answer_is_unavailable_not_missing_records() -> None:
    """Verification says "try again" (503), never "records missing", when DNS is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        settings = DomainSettings(
            dns_nameservers=["127.0.0.1"],  # parsed by pydantic
            dns_nameserver_port=silent.getsockname()[1],
            dns_timeout_s=0.3,
        )
        with pytest.raises(ResolverUnavailable, match="looking up TXT"):
            await TxtLookup(settings).texts("example.com")


async def test_the_demos_steps_verify_a_domain_through_the_simulators_control_api(
    api_app: FastAPI, tenant: Tenant, local_dns: LocalDns
) -> None:
    """`fanout demo`, chaos and the bench verify their domain with `verified_domain`: over
    HTTP, records posted to the simulator's `/v1/dns` and answered by its DNS server."""
    simulator = create_simulator(SimulatorSettings(webhook_url=""))
    simulator.state.dns_zone = local_dns.zone  # the zone its DNS server (local_dns) answers
    name = account_domain("demo", tenant.account_id)
    async with serving(api_app, lifespan=False) as api, serving(simulator) as sim:
        with api_client(api, tenant.key) as client:  # the generated client, as the CLI's
            domain = await asyncio.to_thread(verified_domain, client, sim, name)
    assert domain == name
    assert [r.name for r in local_dns.zone.records([f"_fanout.{name}"])] == [f"_fanout.{name}."]
    body = await _campaign_body(tenant, from_email=f"updates@{domain}")
    assert (await tenant.client.post("/campaigns", json=body)).status_code == 201
