"""Handling `campaign.launches`: every command schedules its campaign for a turn.

Commands are idempotent per (campaign, run, kind) because they carry no work
of their own: what to do is read from the campaign's row at its next turn
(launch and resume find it `queued`, pause finds it `paused` and stops it,
cancel finds it `cancelled` and drains it). A stale command (an older run)
changes nothing. The command is committed once its campaign is scheduled;
if the process dies first, the sweep after restart finds the campaign again.
"""

from __future__ import annotations

import structlog

from services.lead_resolver.resolver import Resolver
from shared.contracts import CampaignCommand
from shared.kafka.strategies.sequential import Record

log = structlog.get_logger(__name__)


class CommandHandler:
    """The handler of `campaign.launches` (a sequential strategy's)."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def __call__(self, records: list[Record[CampaignCommand]]) -> None:
        """Schedule each command's campaign."""
        for record in records:
            command = record.message
            log.info(
                "resolver.command",
                kind=command.kind.value,
                campaign_id=str(command.campaign_id),
                run_id=str(command.run_id),
                partition=record.partition,
            )
            self._resolver.admit(command.campaign_id)
