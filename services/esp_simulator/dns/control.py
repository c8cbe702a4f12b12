"""`/v1/dns`: publish, list and withdraw the records the simulator's DNS server answers.

Open like the other control routes: a local test tool, reached on loopback. What
campaign_api shows for a sending domain is posted here as is (`type`, `name`,
`value`), so the demo and the tests publish exactly what a domain owner would.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from services.esp_simulator.dns.zone import PublishedRecord, RecordType, Zone, ZoneError
from shared.http.problems import invalid, problem_responses
from shared.http.state import from_state

router = APIRouter(prefix="/v1/dns", tags=["dns"])
ZoneDep = Annotated[Zone, Depends(from_state("dns_zone", Zone))]
MAX_PER_CALL = 100
RECORD_EXAMPLE: dict[str, Any] = {
    "type": "TXT",
    "name": "_fanout.news.example.com",
    "value": "fanout-verification=3f9a1c0e8b7d4e21a5c6f0b9d8e7a6c5",
}


class DnsRecord(BaseModel):
    """One record: a TXT value (split into 255-byte strings when longer) or a CNAME target."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [RECORD_EXAMPLE]})

    type: RecordType
    name: str = Field(min_length=1, max_length=253, description="Owner name, e.g. `_dmarc.x.com`.")
    value: str = Field(max_length=4096, description="TXT text, or the CNAME's target name.")


class DnsPublish(BaseModel):
    """Records to add to the zone (all or none)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"records": [RECORD_EXAMPLE]}]}
    )

    records: list[DnsRecord] = Field(min_length=1, max_length=MAX_PER_CALL)


class DnsZone(BaseModel):
    """Records the DNS server answers."""

    records: list[DnsRecord]


def _view(records: list[PublishedRecord]) -> DnsZone:
    return DnsZone(records=[DnsRecord.model_validate(asdict(r)) for r in records])


@router.post("", response_model=DnsZone, responses=problem_responses(422))
async def publish_records(zone: ZoneDep, body: DnsPublish) -> DnsZone:
    """Publish records; answers the zone's records of the names given.

    422 naming the record for a name that is not a DNS name, a CNAME beside other
    records of its name, or a zone that would pass 10,000 records; nothing is added."""
    try:
        zone.publish(PublishedRecord(r.type, r.name, r.value) for r in body.records)
    except ZoneError as exc:
        at: list[str | int] = ["body", "records"]
        if exc.index is not None:
            at.append(exc.index)
        raise invalid(at, str(exc), "dns_record") from None
    return _view(zone.records(r.name for r in body.records))


@router.get("", response_model=DnsZone, responses=problem_responses(422))
async def read_records(
    zone: ZoneDep, name: Annotated[str | None, Query(max_length=253)] = None
) -> DnsZone:
    """The published records (of one `name`, if given)."""
    try:
        return _view(zone.records(None if name is None else [name]))
    except ZoneError as exc:
        raise invalid(["query", "name"], str(exc), "dns_name") from None


@router.delete("", responses=problem_responses(422))
async def withdraw_records(
    zone: ZoneDep, name: Annotated[str | None, Query(max_length=253)] = None
) -> dict[str, int]:
    """Withdraw the records of `name` (all records without it); how many were removed."""
    try:
        return {"removed": zone.withdraw(name)}
    except ZoneError as exc:
        raise invalid(["query", "name"], str(exc), "dns_name") from None
