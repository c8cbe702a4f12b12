"""Sending domains: register, read, verify through DNS, delete (docs/domains.md)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Response, status

from services.campaign_api.api.deps import SettingsDep
from services.campaign_api.api.models.domains import (
    DnsRecord,
    Domain,
    DomainCreate,
    DomainStatus,
    RecordCheck,
)
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.domains import records, store
from services.campaign_api.domains.lookup import TxtLookup
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.domains.verification import records_of, verify_domain
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/domains", tags=["domains"], responses=answers.AUTHENTICATED)


async def _lookup(settings: SettingsDep) -> TxtLookup:
    return TxtLookup(settings.domains)


LookupDep = Annotated[TxtLookup, Depends(_lookup)]


def domain_view(
    row: asyncpg.Record, settings: DomainSettings, checks: list[records.RecordCheck] | None = None
) -> Domain:
    """The API's view of a stored domain (with the verdicts of a verification, if given)."""
    return Domain(
        id=row["id"],
        name=row["name"],
        status="pending" if row["verified_at"] is None else "verified",
        dkim_selector=row["dkim_selector"],
        records=[
            DnsRecord(
                purpose=r.purpose, type=r.type, name=r.name, value=r.value, required=r.required
            )
            for r in records_of(row, settings)
        ],
        checks=None
        if checks is None
        else [
            RecordCheck(
                purpose=c.record.purpose, name=c.record.name, outcome=c.outcome, detail=c.detail
            )
            for c in checks
        ],
        created_at=row["created_at"],
        verified_at=row["verified_at"],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Domain,
    responses=answers.WITH_BODY | problem_responses(409),  # 409: registered in this account already
)
async def register_domain(
    body: DomainCreate, account: CurrentAccount, pool: PoolDep, settings: SettingsDep
) -> Domain:
    """Register a domain to send from: answers the DNS records to publish (an ownership
    token, SPF, a DKIM key made for it, and a recommended DMARC policy), then verify it."""
    secret = settings.common.secret("dkim_key_secret")
    row = await store.register_domain(pool, account, body.name, settings.domains, secret)
    return domain_view(row, settings.domains)


@router.get("", response_model=Page[Domain], responses=problem_responses(422))
async def list_domains(
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    page: IdPage,
    status: Annotated[
        DomainStatus | None, Query(description="Only domains in this status.")
    ] = None,
) -> Page[Domain]:
    """The account's sending domains in id order (keyset pagination)."""
    verified = None if status is None else status == "verified"
    rows = await store.list_domains(
        pool, account, verified=verified, after=page.cursor, limit=page.limit + 1
    )
    return page.page(rows, lambda r: domain_view(r, settings.domains), key="id")


@router.get("/{domain_id}", response_model=Domain, responses=answers.BY_ID)
async def get_domain(
    domain_id: UUID, account: CurrentAccount, pool: PoolDep, settings: SettingsDep
) -> Domain:
    """One sending domain with the records it publishes."""
    return domain_view(await store.fetch_domain(pool, account, domain_id), settings.domains)


@router.post(
    "/{domain_id}/verify",
    response_model=Domain,
    responses=answers.BY_ID | problem_responses(409, 503),
)
async def verify(
    domain_id: UUID,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    lookup: LookupDep,
) -> Domain:
    """Look the domain's records up in DNS; once the required ones are found it is verified
    and campaigns may send from it. Idempotent: a verified domain answers as it is.

    422 when a required record is missing or wrong (`errors` names each, `extra.checks`
    has every verdict; nothing changes), 409 when another account has verified this
    domain, 503 with `Retry-After` when no DNS resolver answered."""
    row, checks = await verify_domain(pool, account, domain_id, lookup, settings.domains)
    return domain_view(row, settings.domains, checks)


@router.delete(
    "/{domain_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers.BY_ID | problem_responses(409),  # 409: a launched campaign sends from it
)
async def delete_domain(domain_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a sending domain; 409 while a launched campaign that has not finished
    (scheduled, queued, sending or paused) sends from it. Drafts using it are refused at
    launch."""
    await store.delete_domain(pool, account, domain_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
