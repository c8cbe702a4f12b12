"""Sending domain request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.campaign_api.domains.names import domain_name
from services.campaign_api.domains.records import Outcome, Purpose

DomainName = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(domain_name)]
DomainStatus = Literal["pending", "verified"]
PUBLIC_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo...IDAQAB"
RECORDS_EXAMPLE: list[dict[str, Any]] = [
    {
        "purpose": "ownership",
        "type": "TXT",
        "name": "_fanout.news.example.com",
        "value": "fanout-verification=3f9a1c0e8b7d4e21a5c6f0b9d8e7a6c5",
        "required": True,
    },
    {
        "purpose": "spf",
        "type": "TXT",
        "name": "news.example.com",
        "value": "v=spf1 include:amazonses.com ~all",
        "required": True,
    },
    {
        "purpose": "dkim",
        "type": "TXT",
        "name": "fanout._domainkey.news.example.com",
        "value": f"v=DKIM1; k=rsa; p={PUBLIC_KEY}",
        "required": True,
    },
    {
        "purpose": "dmarc",
        "type": "TXT",
        "name": "_dmarc.news.example.com",
        "value": "v=DMARC1; p=none; rua=mailto:postmaster@news.example.com",
        "required": False,
    },
]

DOMAIN_EXAMPLE: dict[str, Any] = {
    "id": "2b9e4c8a-5d1f-4a7e-9c3b-8f6d2e1a0b57",
    "name": "news.example.com",
    "status": "verified",
    "dkim_selector": "fanout",
    "records": RECORDS_EXAMPLE,
    "checks": [
        {"purpose": r["purpose"], "name": r["name"], "outcome": "found", "detail": "published"}
        for r in RECORDS_EXAMPLE
    ],
    "created_at": "2026-12-10T09:00:00Z",
    "verified_at": "2026-12-10T09:12:00Z",
}


class DomainCreate(BaseModel):
    """A domain to send from (`news.example.com`); it covers exactly that name, not its
    subdomains. Normalised as addresses are (IDNA, lower case)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "news.example.com"}]}
    )

    name: DomainName


class DnsRecord(BaseModel):
    """A record to publish in the domain's DNS zone."""

    purpose: Purpose = Field(description="ownership, spf, dkim or dmarc.")
    type: Literal["TXT"]
    name: str = Field(description="Owner name (ASCII); some DNS hosts want it without the domain.")
    value: str = Field(description="The TXT text; hosts split values over 255 characters.")
    required: bool = Field(description="Verification needs it; DMARC is a recommendation.")


class RecordCheck(BaseModel):
    """What the last verification found for one record."""

    purpose: Purpose
    name: str
    outcome: Outcome
    detail: str = Field(description="What was found, or what to publish.")


class Domain(BaseModel):
    """A sending domain: the records it must publish and whether they were found.

    A campaign may send from (and take replies at) a `verified` domain only.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [DOMAIN_EXAMPLE]})

    id: UUID
    name: str
    status: DomainStatus
    dkim_selector: str
    records: list[DnsRecord]
    checks: list[RecordCheck] | None = Field(
        None, description="The verdict on each record (in the answer of a verification)."
    )
    created_at: datetime
    verified_at: datetime | None
