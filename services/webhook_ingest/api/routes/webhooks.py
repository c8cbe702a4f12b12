"""`POST /webhooks/{provider}`: one route for every ESP of the provider table.

The route reads the raw body (413 over the limit), has the provider verify its
authentication on it (401, 403 for an authentic sender we do not accept),
parses and normalises the events (400 for a body that cannot be read at all;
a single event that cannot be parsed goes to the dead-letter topic with its
reason), records them (Postgres, then Kafka acknowledged; 503 if not) and only
then answers 200. A request that ends
unrecorded gives back what verifying claimed (Mailgun's token), so the
provider's retry passes. The OpenAPI schema lists the providers (an enum),
what each posts and the headers that authenticate it.
"""

# No `from __future__ import annotations` here: the path parameter's annotation holds the
# table's provider names, which exist only when the router is built, so it must be evaluated
# then rather than resolved later from this module's globals.

from typing import Annotated, Any
from uuid import UUID

import msgspec
from fastapi import APIRouter, Path, Request

from services.webhook_ingest.api.deps import RawBody, RecorderDep
from services.webhook_ingest.api.outcome import WebhookReceipt, receipt, webhook_outcome
from services.webhook_ingest.normalize import normalise
from services.webhook_ingest.providers.base import Rejected, Verified, WebhookProvider
from services.webhook_ingest.providers.configured import ConfiguredWebhooks
from services.webhook_ingest.providers.registry import ProviderTable
from services.webhook_ingest.recorder import Recorder
from shared.http.problems import ProblemError, problem_responses

DESCRIPTION = """Provider webhooks into `email.events` and suppressions.

The provider's own authentication is checked first, on the raw body; then the
events are parsed, normalised and recorded (suppressions in Postgres, events on
Kafka), and 200 is answered only once both are durable, so the provider retries
whatever was not recorded (503 carries `Retry-After`).

| provider | what it posts and how it authenticates | headers |
|---|---|---|
"""


RESPONSES = problem_responses(400, 401, 403, 404, 413, 503)
for _status, _text in {
    400: "Malformed payload; `detail` names the field.",
    401: "Missing or invalid provider authentication; nothing recorded.",
    403: "Authentic, but from a source not accepted (an SNS topic not allowed).",
    404: "No provider of that name.",
    413: "Body over the size limit.",
    503: "Postgres or Kafka unavailable (or an SNS certificate); retry later.",
}.items():
    RESPONSES[_status]["description"] = _text


def describe(providers: ProviderTable) -> str:
    """The operation's description: the common flow, then one row per provider."""
    rows = []
    for name, provider in providers.items():
        headers = ", ".join(f"`{header}`" for header in provider.auth_headers)
        rows.append(f"| `{name}` | {provider.summary} | {headers or '(in the body)'} |")
    return DESCRIPTION + "\n".join(rows)


def header_parameters(providers: ProviderTable) -> list[dict[str, Any]]:
    """Each provider's authentication headers as optional header parameters.

    `Authorization` is left to the description: OpenAPI ignores a parameter by that name.
    """
    return [
        {
            "name": header,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": f"{name}: {text}",
        }
        for name, provider in providers.items()
        for header, text in provider.auth_headers.items()
        if header.lower() != "authorization"
    ]


async def _record(
    provider: WebhookProvider, verified: Verified, recorder: Recorder, account: UUID | None
) -> WebhookReceipt:
    parsed = provider.parse(verified)
    normalised = normalise(parsed.events, parsed.raws)
    if account is not None:  # a configuration's key speaks for its own account only
        foreign = [e for e in normalised.events if e.account_id != account]
        normalised.events = [e for e in normalised.events if e.account_id == account]
        reason = "event of another account than the provider configuration's"
        normalised.rejected += [Rejected(msgspec.to_builtins(e), reason) for e in foreign]
    await recorder.record(normalised.events)
    await recorder.dead_letter(provider.name, parsed.rejected + normalised.rejected)
    return receipt(provider.name, parsed, normalised)


async def _receive(
    handler: WebhookProvider,
    request: Request,
    body: bytes,
    recorder: Recorder,
    account: UUID | None = None,
) -> WebhookReceipt:
    with webhook_outcome(handler.name):
        verified = await handler.verify(request.headers, body)
        try:
            return await _record(handler, verified, recorder, account)
        except Exception:
            verified.release()
            raise


def webhook_router(
    providers: ProviderTable, configured: ConfiguredWebhooks | None = None
) -> APIRouter:
    """The router serving every provider of `providers`, and of accounts' configurations."""
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])
    names = list(providers)
    path_doc = Path(
        description=f"The provider: one of {', '.join(names)} (see the table above).",
        json_schema_extra={"enum": names},
    )

    @router.post(
        "/{provider}",
        summary="Receive a provider's webhook",
        description=describe(providers),
        responses=RESPONSES,
        openapi_extra={"parameters": header_parameters(providers)},
    )
    async def receive_webhook(
        provider: Annotated[str, path_doc], request: Request, body: RawBody, recorder: RecorderDep
    ) -> WebhookReceipt:
        handler = providers.get(provider)
        if handler is None:
            raise ProblemError(404, f"no webhook provider is named {provider[:32]!r}")
        return await _receive(handler, request, body, recorder)

    if configured is None:
        return router

    @router.post(
        "/{provider}/{config_id}",
        summary="Receive a provider's webhook for one account's provider configuration",
        description="As `POST /webhooks/{provider}`, verified with the configuration's own "
        "webhook key (the stack's when it names none); only events of its account are "
        "recorded. docs/providers.md.",
        responses=RESPONSES,
        openapi_extra={"parameters": header_parameters(providers)},
    )
    async def receive_configured_webhook(
        provider: Annotated[str, path_doc],
        config_id: UUID,
        request: Request,
        body: RawBody,
        recorder: RecorderDep,
    ) -> WebhookReceipt:
        found = await configured.get(recorder.pool, provider, config_id)
        if found is None:
            raise ProblemError(404, "no such provider configuration for this provider")
        handler, account = found
        return await _receive(handler, request, body, recorder, account)

    return router
