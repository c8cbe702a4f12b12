"""The three sources of one campaign, read once everything has flowed back.

`settle` waits until the ESP has no webhook left to post and the campaign
row and funnel stop changing. `gather` then reads: the simulator's request
log for the campaign, the campaign row, the funnel and the recipients CSV,
and asks the simulator which of the leads the reports do not show as sent it
accepted anyway (an email the ESP accepted must be reported as sent).
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from fanout_cli.chaos.driver import CampaignRun, decided
from fanout_cli.chaos.esp import CampaignCalls, SimulatorControl
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.stack.errors import StackError
from shared.contracts.events import message_id

NOT_SENT = frozenset({"queued", "failed", "suppressed", "cancelled"})
# Failure reasons of permanent answers (and of templates that cannot render); any other
# failure came from throttling or errors.
PERMANENT = (
    "simulated rejection",
    "invalid recipient address",
    "rejected by the provider",
    "render:",
    "template:",
)
QUIET_POLLS = 3  # unchanged reads, a second apart, that count as settled
SLOW_QUIET_POLLS = 15  # ... when the reports still lack outcomes


@dataclass
class Recipients:
    """The recipients CSV, counted."""

    rows: int = 0
    leads: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    failed_on_transient: int = 0
    not_sent: dict[str, str] = field(default_factory=dict)  # lead id → status


@dataclass
class Sources:
    """Everything the verdict compares."""

    row: dict[str, Any]
    funnel: dict[str, int]
    recipients: Recipients
    simulator: CampaignCalls
    accepted_not_sent: Counter[str]  # reported status → leads the ESP accepted anyway
    log_complete: bool
    settled: bool


def _snapshot(run: CampaignRun) -> tuple[dict[str, Any], dict[str, int]] | None:
    try:
        row = run.row()
        funnel = checked_json(run.report("funnel"), "reading the funnel")
    except (httpx.HTTPError, StackError):
        return None
    return row, dict(funnel["counts"])


def settle(run: CampaignRun, simulator: SimulatorControl, timeout_s: float) -> bool:
    """Wait until webhooks are delivered and row and funnel are still; False on timeout."""
    deadline = time.monotonic() + timeout_s
    previous: tuple[dict[str, Any], dict[str, int]] | None = None
    quiet = 0
    while time.monotonic() < deadline:
        current = _snapshot(run)
        pending = simulator.webhooks_pending()
        still = current is not None and current == previous and pending == 0
        quiet = quiet + 1 if still else 0
        if current is not None and quiet >= QUIET_POLLS:
            row, funnel = current
            complete = row["matched"] is not None and decided(funnel) >= row["matched"]
            if complete or quiet >= SLOW_QUIET_POLLS:
                return True
        previous = current
        time.sleep(1.0)
    return False


def read_recipients(run: CampaignRun) -> Recipients:
    """Count the recipients CSV by status; keep the leads not reported as sent."""
    response = run.report("recipients.csv")
    if response.status_code >= 400:
        raise StackError(f"recipients CSV: HTTP {response.status_code}: {response.text[:300]}")
    counted = Recipients()
    seen: set[str] = set()
    for line in csv.DictReader(io.StringIO(response.text)):
        counted.rows += 1
        seen.add(line["lead_id"])
        status = line["status"]
        counted.by_status[status] += 1
        if status in NOT_SENT:
            counted.not_sent[line["lead_id"]] = status
        if status == "failed" and not line["reason"].startswith(PERMANENT):
            counted.failed_on_transient += 1
    counted.leads = len(seen)
    return counted


def gather(
    run: CampaignRun, simulator: SimulatorControl, domain: str, evicted_before: int, settled: bool
) -> Sources:
    """Read the three sources of `run`'s campaign."""
    recipients = read_recipients(run)
    ids = {
        message_id(run.campaign_id, UUID(lead), domain): status
        for lead, status in recipients.not_sent.items()
    }
    accepted = simulator.accepted(ids)
    funnel = checked_json(run.report("funnel"), "reading the funnel")
    return Sources(
        row=run.row(),
        funnel=dict(funnel["counts"]),
        recipients=recipients,
        simulator=simulator.campaign(run.campaign_id),
        accepted_not_sent=Counter(ids[i] for i in accepted),
        log_complete=simulator.evicted() == evicted_before,
        settled=settled,
    )
