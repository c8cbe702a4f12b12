"""What the sender needs to know about a campaign, cached until it changes (a second at most).

A campaign's spec (template, sender address, provider, state) is read once, not
once per batch, so Postgres sees campaign-level reads only. The sender checks the
cached state before every ESP call; every state move is announced on a Postgres
channel and `invalidate` drops that campaign's spec as soon as the announcement
arrives (`shared.campaigns.ChangeListener`), so a pause or cancel acknowledged by
the API is seen within milliseconds. The TTL (at most a second) is the fallback
while the listener is reconnecting, and covers edits that are not announced.
A load that started before an invalidation is never cached.
Compiled templates are kept longer, in a bounded LRU keyed by template (a spec
reload whose template text is unchanged does not compile it again). Both caches
are bounded, so a sender that meets many campaigns keeps a fixed footprint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
from cachetools import LRUCache, TTLCache

from shared.campaigns import State
from shared.templating import CompiledTemplate, TemplateError, TemplateSource
from shared.templating.usage import fields_read

if TYPE_CHECKING:  # config imports this module's defaults
    from services.sender.config import Settings

# Defaults of the sender's settings `spec_cache_size` and `template_cache_size`.
SPECS_MAX = 10_000
TEMPLATES_MAX = 1_000

SPEC = """
SELECT c.id, c.account_id, c.state, c.provider, c.provider_config_id, c.from_email,
       c.from_name, c.reply_to,
       c.template_id, t.subject, t.html_body, t.text_body
FROM campaigns c JOIN templates t ON t.id = c.template_id AND t.account_id = c.account_id
WHERE c.id = $1
"""


# States whose batches are held back (parked) rather than sent: the campaign may resume.
HELD = frozenset({State.DRAFT, State.SCHEDULED, State.PAUSED})


class UnknownCampaign(LookupError):
    """A batch names a campaign that does not exist (deleted): it is dead-lettered."""


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the sender sees it."""

    campaign_id: UUID
    account_id: UUID
    state: State
    provider: str
    from_email: str
    from_name: str
    reply_to: str | None
    template: CompiledTemplate | None
    template_error: str
    provider_config_id: UUID | None = None  # None: saved before configurations existed
    reads: frozenset[str] = frozenset()  # the lead fields besides `email` the template reads

    @property
    def halt(self) -> str:
        """Why no ESP call may start for this campaign now ("" when one may).

        Batches of a halted campaign are parked (paused, scheduled: they wait for the
        resume) or become `cancelled` outcomes (cancelled); see `deferrals.settle`."""
        if self.state is State.CANCELLED or self.state in HELD:
            return f"campaign {self.state.value}"
        return ""


@dataclass(frozen=True)
class _Compiled:
    """A template's source and what compiling it gave (the template, or the error)."""

    source: TemplateSource
    template: CompiledTemplate | None
    error: str
    reads: frozenset[str] = frozenset()


class SpecCache:
    """Campaign specs with a short TTL, compiled templates in an LRU; one load per campaign at once.

    `timer` is the TTL's clock (monotonic seconds), a parameter so tests can pin it.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        ttl_s: float,
        *,
        max_specs: int = SPECS_MAX,
        max_templates: int = TEMPLATES_MAX,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._specs: TTLCache[UUID, CampaignSpec] = TTLCache(max_specs, ttl_s, timer=timer)
        self._templates: LRUCache[UUID, _Compiled] = LRUCache(max_templates)
        # Loads in progress: concurrent batches of one campaign share a single query.
        self._loading: dict[UUID, asyncio.Task[CampaignSpec]] = {}
        self._epoch = 0  # moves on every invalidation: older loads are not cached

    @classmethod
    def from_settings(cls, pool: asyncpg.Pool, settings: Settings) -> SpecCache:
        """The cache sized by the sender's settings."""
        return cls(
            pool,
            settings.spec_ttl_s,
            max_specs=settings.spec_cache_size,
            max_templates=settings.template_cache_size,
        )

    async def get(self, campaign_id: UUID, *, fresh: bool = False) -> CampaignSpec:
        """The cached spec, reloaded when older than the TTL (or when `fresh`)."""
        cached = None if fresh else self._specs.get(campaign_id)
        if cached is not None:
            return cached
        task = self._loading.get(campaign_id)
        if task is None:
            task = asyncio.create_task(self._load(campaign_id, self._epoch))
            self._loading[campaign_id] = task
            task.add_done_callback(lambda done: self._loaded(campaign_id, done))
        return await asyncio.shield(task)

    def invalidate(self, campaign_id: UUID) -> None:
        """The campaign changed: its next `get` reads Postgres again."""
        self._epoch += 1
        self._specs.pop(campaign_id, None)
        self._loading.pop(campaign_id, None)

    def invalidate_all(self) -> None:
        """Anything may have changed (changes may have been missed): forget every spec."""
        self._epoch += 1
        self._specs.clear()
        self._loading.clear()

    def _loaded(self, campaign_id: UUID, task: asyncio.Task[CampaignSpec]) -> None:
        if self._loading.get(campaign_id) is task:
            del self._loading[campaign_id]

    async def _load(self, campaign_id: UUID, epoch: int) -> CampaignSpec:
        row = await self._pool.fetchrow(SPEC, campaign_id)
        if row is None:
            raise UnknownCampaign(f"campaign {campaign_id} does not exist")
        source = TemplateSource(row["subject"], row["html_body"], row["text_body"])
        template, error, reads = self._compiled(row["template_id"], source)
        spec = CampaignSpec(
            campaign_id=row["id"],
            account_id=row["account_id"],
            state=State(row["state"]),
            provider=row["provider"],
            from_email=row["from_email"],
            from_name=row["from_name"],
            reply_to=row["reply_to"],
            template=template,
            template_error=error,
            provider_config_id=row["provider_config_id"],
            reads=reads,
        )
        if epoch == self._epoch:
            self._specs[campaign_id] = spec
        return spec

    def _compiled(
        self, template_id: UUID, source: TemplateSource
    ) -> tuple[CompiledTemplate | None, str, frozenset[str]]:
        known = self._templates.get(template_id)
        if known is not None and known.source == source:
            return known.template, known.error, known.reads
        try:
            compiled: CompiledTemplate | None = CompiledTemplate(source)
            error = ""
        except TemplateError as exc:
            compiled, error = None, f"template: {exc}"
        reads = fields_read(source) if compiled is not None else frozenset()
        self._templates[template_id] = _Compiled(source, compiled, error, reads)
        return compiled, error, reads
