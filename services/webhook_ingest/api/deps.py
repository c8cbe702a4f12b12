"""Dependencies of the routes, as `Annotated` aliases over what the lifespan put in app.state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.webhook_ingest.api.body import read_limited
from services.webhook_ingest.config import Settings
from services.webhook_ingest.providers.mailgun import TokenLedger
from services.webhook_ingest.providers.sns import CertificateCache
from services.webhook_ingest.recorder import Recorder

SubscriptionConfirmer = Callable[[str], Awaitable[None]]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.recorder
    return recorder


def _certificates(request: Request) -> CertificateCache:
    certificates: CertificateCache = request.app.state.certificates
    return certificates


def _confirmer(request: Request) -> SubscriptionConfirmer:
    confirm: SubscriptionConfirmer = request.app.state.confirm_subscription
    return confirm


def _ledger(request: Request) -> TokenLedger:
    ledger: TokenLedger = request.app.state.mailgun_tokens
    return ledger


async def _raw_body(request: Request) -> bytes:
    return await read_limited(request, _settings(request).max_body_bytes)


SettingsDep = Annotated[Settings, Depends(_settings)]
RecorderDep = Annotated[Recorder, Depends(_recorder)]
CertificatesDep = Annotated[CertificateCache, Depends(_certificates)]
ConfirmerDep = Annotated[SubscriptionConfirmer, Depends(_confirmer)]
LedgerDep = Annotated[TokenLedger, Depends(_ledger)]
RawBody = Annotated[bytes, Depends(_raw_body)]
