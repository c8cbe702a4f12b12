"""A campaign whose template fails for too many recipients is paused, with the reason.

A template that compiles can still fail for some recipients (an attribute they
lack, a render budget exceeded). A few such failures are those recipients'
outcome (`failed`, with the reason). When more than `ratio` of at least `minimum`
recipients this instance rendered for one campaign failed, the campaign is paused
through the campaign writer with a readable reason (how many failed, and the
first reason) instead of completing quietly with mostly failures: its later
batches are parked, and a resume after the template or the leads were fixed
sends them. The counts of a campaign start again once it was paused. Counts are
per instance and bounded (least recently seen campaigns dropped first).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from cachetools import LRUCache


@dataclass
class _Counts:
    rendered: int = 0
    failed: int = 0
    first_reason: str = ""


class RenderGuard:
    """Render attempts and failures per campaign; says when to pause."""

    def __init__(self, ratio: float, minimum: int, *, max_campaigns: int = 10_000) -> None:
        self._ratio = ratio
        self._minimum = minimum
        self._counts: LRUCache[UUID, _Counts] = LRUCache(max_campaigns)

    def observe(self, campaign_id: UUID, rendered: int, failures: list[str]) -> str:
        """Count one batch's renders; the pause reason once past the threshold, else ""."""
        counts = self._counts.get(campaign_id) or _Counts()
        self._counts[campaign_id] = counts
        counts.rendered += rendered
        counts.failed += len(failures)
        counts.first_reason = counts.first_reason or next(iter(failures), "")
        if counts.rendered < self._minimum or counts.failed <= self._ratio * counts.rendered:
            return ""
        del self._counts[campaign_id]
        return (
            f"paused: the template failed for {counts.failed} of {counts.rendered} recipients "
            f"(more than {self._ratio:.0%}); first failure: {counts.first_reason}"
        )
