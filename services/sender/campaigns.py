"""What the sender needs to know about a campaign, cached for a second.

A campaign's spec (template, sender address, provider, state) is read once per
TTL, not once per batch, so Postgres sees campaign-level reads only; the TTL
is short so a cancel or pause made through the API is seen within about a second.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from shared.templating import CompiledTemplate, TemplateError, TemplateSource

SPEC = """
SELECT c.id, c.account_id, c.state, c.provider, c.from_email, c.from_name, c.reply_to,
       c.template_id, t.subject, t.html_body, t.text_body
FROM campaigns c JOIN templates t ON t.id = c.template_id
WHERE c.id = $1
"""


class UnknownCampaign(LookupError):
    """A batch names a campaign that does not exist (deleted): it is dead-lettered."""


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the sender sees it."""

    campaign_id: UUID
    account_id: UUID
    state: str
    provider: str
    from_email: str
    from_name: str
    reply_to: str | None
    template: CompiledTemplate | None
    template_error: str

    @property
    def cancelled(self) -> bool:
        """Batches of a cancelled campaign become `cancelled` outcomes, unsent."""
        return self.state == "cancelled"


class SpecCache:
    """Campaign specs with a short TTL; one load at a time per campaign."""

    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._specs: dict[UUID, tuple[float, CampaignSpec]] = {}
        self._loading: dict[UUID, asyncio.Task[CampaignSpec]] = {}
        self._templates: dict[UUID, tuple[TemplateSource, CompiledTemplate | None, str]] = {}

    async def get(self, campaign_id: UUID, *, fresh: bool = False) -> CampaignSpec:
        """The cached spec, reloaded when older than the TTL (or when `fresh`)."""
        cached = self._specs.get(campaign_id)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        task = self._loading.get(campaign_id)
        if task is None:
            task = asyncio.create_task(self._load(campaign_id))
            self._loading[campaign_id] = task
            task.add_done_callback(lambda _: self._loading.pop(campaign_id, None))
        return await asyncio.shield(task)

    async def _load(self, campaign_id: UUID) -> CampaignSpec:
        row = await self._pool.fetchrow(SPEC, campaign_id)
        if row is None:
            raise UnknownCampaign(f"campaign {campaign_id} does not exist")
        source = TemplateSource(row["subject"], row["html_body"], row["text_body"])
        template, error = self._compiled(row["template_id"], source)
        spec = CampaignSpec(
            campaign_id=row["id"],
            account_id=row["account_id"],
            state=row["state"],
            provider=row["provider"],
            from_email=row["from_email"],
            from_name=row["from_name"],
            reply_to=row["reply_to"],
            template=template,
            template_error=error,
        )
        self._specs[campaign_id] = (time.monotonic(), spec)
        return spec

    def _compiled(
        self, template_id: UUID, source: TemplateSource
    ) -> tuple[CompiledTemplate | None, str]:
        known = self._templates.get(template_id)
        if known is not None and known[0] == source:
            return known[1], known[2]
        try:
            compiled: CompiledTemplate | None = CompiledTemplate(source)
            error = ""
        except TemplateError as exc:
            compiled, error = None, f"template: {exc}"
        self._templates[template_id] = (source, compiled, error)
        return compiled, error
