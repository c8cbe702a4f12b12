"""A running campaign's progress as the dashboard shows it: counts, rate and ETA.

The campaign API's counters say how far it is; the rate needs two readings. The page
polls once a second and hands back an earlier reading (`Sample`: the leads done and
the server's time then), so the server stays stateless and every instance answers
alike: rate = leads done since that reading / seconds since it; ETA = leads left / rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# What every matched lead ends as (docs/reports.md): a send outcome, or excluded.
ACCOUNTED = ("sent", "failed", "suppressed", "cancelled", "excluded")
RUNNING = frozenset({"queued", "resolving", "sending"})


@dataclass(frozen=True)
class Sample:
    """An earlier reading: leads done by then, at that server time (epoch seconds)."""

    done: int
    at: float


@dataclass(frozen=True)
class Progress:
    """What the progress panel shows."""

    state: str
    matched: int | None
    resolved: int
    sent: int
    failed: int
    suppressed: int
    excluded: int
    cancelled: int
    done: int
    remaining: int | None
    percent: float | None
    rate: float | None  # leads per second, over the span since the sample
    eta_seconds: float | None
    at: float
    running: bool
    state_reason: str | None


def progress_of(campaign: dict[str, Any], now: datetime, since: Sample | None) -> Progress:
    """The progress of `campaign` (the API's answer) at `now`, with the rate since `since`."""
    done = sum(int(campaign[k]) for k in ACCOUNTED)
    matched = campaign["matched"]
    remaining = max(int(matched) - done, 0) if matched is not None else None
    at = now.timestamp()
    rate = _rate(done, at, since)
    eta = remaining / rate if rate and remaining is not None else None
    return Progress(
        state=campaign["state"],
        matched=matched,
        resolved=int(campaign["enqueued"]) + int(campaign["excluded"]),
        sent=int(campaign["sent"]),
        failed=int(campaign["failed"]),
        suppressed=int(campaign["suppressed"]),
        excluded=int(campaign["excluded"]),
        cancelled=int(campaign["cancelled"]),
        done=done,
        remaining=remaining,
        percent=round(100 * done / matched, 1) if matched else None,
        rate=rate,
        eta_seconds=eta if campaign["state"] in RUNNING else None,
        at=at,
        running=campaign["state"] in RUNNING,
        state_reason=campaign.get("state_reason"),
    )


def _rate(done: int, at: float, since: Sample | None) -> float | None:
    if since is None or at <= since.at or done < since.done:
        return None  # no earlier reading, or one from the future or of another run
    return round((done - since.done) / (at - since.at), 1)


def duration_text(seconds: float | None) -> str:
    """`2 h 5 min`, `3 min 20 s`, `45 s`; an em dash when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
