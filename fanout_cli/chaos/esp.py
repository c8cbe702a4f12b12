"""The ESP simulator's control API, as the fault suite uses it.

Knobs are set per scenario and restored afterwards; the request log gives
the provider's own account of one campaign (first acceptances, duplicates,
decided outcomes, when each call started); the accepted-id lookup checks
single leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from fanout_cli.demo.api_calls import checked_json

LOOKUP_CHUNK = 10_000  # the simulator's limit per lookup
LOGGED_OUTCOMES = ("delivered", "bounced_hard", "bounced_soft", "complained")


@dataclass(frozen=True)
class CallStart:
    """When one of the campaign's calls arrived and how it was answered."""

    started_at: float
    outcome: str
    recipients: int
    accepted: int


@dataclass
class CampaignCalls:
    """The simulator's view of one campaign, summed over its logged calls."""

    accepted: int = 0
    duplicates: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOGGED_OUTCOMES, 0))
    calls: list[CallStart] = field(default_factory=list)

    def started_between(self, after: float, before: float | None = None) -> list[CallStart]:
        """The calls that started after `after` (and before `before`, if given)."""
        return [
            c
            for c in self.calls
            if c.started_at > after and (before is None or c.started_at < before)
        ]


class SimulatorControl:
    """A client of the simulator's `/v1` control routes."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    def knobs(self) -> dict[str, Any]:
        """The knobs in force."""
        return dict(checked_json(self._client.get(f"{self._base}/v1/config"), "reading knobs"))

    def configure(self, knobs: dict[str, Any]) -> None:
        """Change knobs (only the names given)."""
        checked_json(self._client.post(f"{self._base}/v1/config", json=knobs), "setting knobs")

    def go_down(self, seconds: float) -> None:
        """Answer every bulk call 503 for `seconds` from now."""
        checked_json(
            self._client.post(f"{self._base}/v1/down", json={"seconds": seconds}), "ESP down"
        )

    def webhooks_pending(self) -> int:
        """Outcome events decided but not yet accepted by webhook_ingest."""
        counters = checked_json(self._client.get(f"{self._base}/v1/counters"), "counters")
        return int(counters["webhooks"]["events_pending"])

    def evicted(self) -> int:
        """Request-log records dropped so far (a growth means a truncated campaign log)."""
        page = self._requests({"limit": 1})
        return int(page["evicted"])

    def campaign(self, campaign_id: UUID) -> CampaignCalls:
        """The campaign's calls from the request log, summed."""
        page = self._requests({"campaign_id": str(campaign_id)})
        view = CampaignCalls()
        for entry in page["entries"]:
            view.accepted += entry["accepted"]
            view.duplicates += entry["duplicates"]
            for name in LOGGED_OUTCOMES:
                view.outcomes[name] += entry[name]
            view.calls.append(
                CallStart(
                    entry["started_at"], entry["outcome"], entry["recipients"], entry["accepted"]
                )
            )
        return view

    def accepted(self, message_ids: Iterable[str]) -> set[str]:
        """Those of `message_ids` the simulator accepted."""
        ids = list(message_ids)
        found: set[str] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            answer = checked_json(
                self._client.post(f"{self._base}/v1/accepted", json={"message_ids": chunk}),
                "looking up accepted messages",
            )
            found.update(answer["accepted"])
        return found

    def _requests(self, params: dict[str, Any]) -> dict[str, Any]:
        response = self._client.get(f"{self._base}/v1/requests", params=params)
        return dict(checked_json(response, "reading the request log"))
