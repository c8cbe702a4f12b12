"""Verified sending domains for tests, made through campaign_api's own functions.

A campaign needs a verified sending domain (docs/domains.md). `verified_domain`
registers one with `store.register_domain`, publishes the records it shows in the
ESP simulator's DNS zone, served in-process by the simulator's own DNS server (the
session fixture `local_dns`), and verifies it with `verification.verify_domain`
through a real resolver: the path `POST /domains` + `POST /domains/{id}/verify`
takes, with DNS answering. Each call makes a unique name unless one is given (a
verified name belongs to one account).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from services.campaign_api.domains.lookup import TxtLookup
from services.campaign_api.domains.records import ExpectedRecord
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.domains.store import register_domain
from services.campaign_api.domains.verification import records_of, verify_domain
from services.esp_simulator.dns import PublishedRecord, Zone
from shared.settings import CommonSettings

# the smallest key RFC 8301 allows: a tenant per test, and 2048 bits cost ~0.1-0.3 s each
TEST_KEY_BITS = 1024


@dataclass(frozen=True)
class LocalDns:
    """The simulator's zone and the UDP port its DNS server answers on."""

    zone: Zone
    port: int

    @property
    def settings(self) -> DomainSettings:
        """campaign_api's domain settings pointed at this server."""
        return DomainSettings(
            dns_nameservers=["127.0.0.1"],  # parsed by pydantic
            dns_nameserver_port=self.port,
            dns_timeout_s=2.0,
            dkim_key_bits=TEST_KEY_BITS,
        )

    def publish(self, records: Iterable[ExpectedRecord]) -> None:
        """Publish records as a domain's owner would."""
        self.zone.publish(PublishedRecord(r.type, r.name, r.value) for r in records)


def unique_domain() -> str:
    """A domain name no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}.example.com"


async def verified_domain(
    pool: asyncpg.Pool, account_id: uuid.UUID, dns: LocalDns, name: str | None = None
) -> str:
    """Register `name` (default: a unique one) for the account, publish its records and
    verify it; returns the domain."""
    settings = dns.settings
    secret = CommonSettings(environment="test").secret("dkim_key_secret")
    row = await register_domain(pool, account_id, name or unique_domain(), settings, secret)
    dns.publish(records_of(row, settings))
    await verify_domain(pool, account_id, row["id"], TxtLookup(settings), settings)
    domain: str = row["name"]
    return domain
