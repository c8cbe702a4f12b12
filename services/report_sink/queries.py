"""The report queries: ClickHouse SQL with bound parameters, never interpolated values.

Every query filters on the caller's account first (the leading key of every table).
Exactness before merges: `lead_status` is read with FINAL, `lead_steps` and
`send_outcomes` with FINAL or, for a small campaign, grouped by lead (the row FINAL would
make); counts are distinct leads
(uniqExact of lead ids, merged uniqExact states, or one row per lead of `lead_steps` or
`send_outcomes`), so redelivered events and parts not merged yet never count twice.
Terminal send outcomes (sent, failed, suppressed, cancelled) are read from
`send_outcomes`, where each lead has one by precedence (an accepted send wins).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

from services.report_sink.api.models import (
    ActivityMinute,
    Breakdown,
    FunnelCounts,
    LeadEvent,
    Minute,
    Recipient,
)
from services.report_sink.steps import STEP_BITS, count_steps
from shared.clickhouse import AsyncClickHouse
from shared.contracts.events import EventType, ExclusionReason

NIL = UUID(int=0)


def _merge_if(step: str) -> str:
    return f"uniqExactMergeIf(leads, type = '{step}') AS {step}"  # constants only


# Leads per step from the campaign's lead_steps rows (services/report_sink/steps.py); merging
# campaign_hourly's lead sets gave the same numbers about ten times slower. A lead's rows in
# parts not merged yet are combined by OR: with FINAL (an ordered merge of the parts,
# streaming, so its memory does not grow with the campaign) or by grouping them per lead
# (a hash of the campaign's leads: about 40-60 MB per million leads for the steps and 60-100
# for the outcomes). On a live store (about ten parts per table at 10M events, each holding
# rows of every campaign) grouping took a third less time for a campaign of 10,000 leads,
# since FINAL pays for every part's rows of the campaign in key order (docs/benchmarks.md,
# "Round 6 of issue 17"). So a campaign known to be small is grouped, any other read with
# FINAL: a report's memory stays bounded whatever the campaign's size.
GROUPED_MAX_LEADS = 200_000

FUNNEL_SQL = f"""
SELECT {count_steps(STEP_BITS)}
FROM (
    SELECT groupBitOr(steps) AS steps
    FROM lead_steps
    WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
    GROUP BY lead_id
)
"""
FUNNEL_FINAL_SQL = f"""
SELECT {count_steps(STEP_BITS)}
FROM lead_steps FINAL
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
"""


def grouped(leads: int | None) -> bool:
    """Whether a campaign of `leads` matched leads (None: not known yet) is read grouped."""
    return leads is not None and leads <= GROUPED_MAX_LEADS


async def funnel(
    ch: AsyncClickHouse, account: UUID, campaign: UUID, leads: int | None = None
) -> FunnelCounts:
    """Distinct leads per funnel step of one campaign, one terminal send outcome per lead;
    the excluded ones also per reason. `leads`: the campaign's matched leads, if known."""
    params: dict[str, Any] = {"account": account, "campaign": campaign}
    steps = (await ch.dicts(FUNNEL_SQL if grouped(leads) else FUNNEL_FINAL_SQL, params))[0]
    excluded = {"type": EventType.EXCLUDED.value, "dimension": "reason"}
    rows = await ch.dicts(BREAKDOWN_SQL, {**params, **excluded})
    reasons = {row["value"]: row["leads"] for row in rows}
    per_reason = {f"excluded_{r.value}": reasons.get(r.value, 0) for r in ExclusionReason}
    outcomes = await send_outcomes(ch, account, campaign, leads)
    return FunnelCounts.model_validate({**steps, **per_reason, **outcomes})


_OUTCOME_COUNTS = """
SELECT countIf(status = 'sent') AS sent, countIf(status = 'failed') AS failed,
       countIf(status = 'suppressed') AS suppressed, countIf(status = 'cancelled') AS cancelled
"""
# Grouped: each lead's row of the highest version, the one FINAL keeps; rows of equal
# versions have the same status, since the version's top bits are the precedence.
SEND_OUTCOMES_SQL = f"""{_OUTCOME_COUNTS}
FROM (
    SELECT argMax(status, version) AS status
    FROM send_outcomes
    WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
    GROUP BY lead_id
)
"""
SEND_OUTCOMES_FINAL_SQL = f"""{_OUTCOME_COUNTS}
FROM send_outcomes FINAL
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
"""


async def send_outcomes(
    ch: AsyncClickHouse, account: UUID, campaign: UUID, leads: int | None = None
) -> dict[str, int]:
    """Leads per terminal send outcome, each lead once (`send_outcomes`: an accepted send
    wins); `leads` as for `funnel`."""
    sql = SEND_OUTCOMES_SQL if grouped(leads) else SEND_OUTCOMES_FINAL_SQL
    rows = await ch.dicts(sql, {"account": account, "campaign": campaign})
    return {step: int(count) for step, count in rows[0].items()}


RECIPIENTS_SQL = """
SELECT lead_id, email, status, bounce_type, reason, status_at
FROM lead_status FINAL
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
  AND lead_id > {after:UUID} AND ({status:String} = '' OR status = {status:String})
ORDER BY lead_id
LIMIT {limit:UInt32}
"""


async def recipients(
    ch: AsyncClickHouse, account: UUID, campaign: UUID, status: str, after: UUID, limit: int
) -> list[Recipient]:
    """Up to `limit` recipients after lead `after`, optionally of one latest status."""
    params = {"account": account, "campaign": campaign, "after": after, "status": status}
    rows = await ch.dicts(RECIPIENTS_SQL, {**params, "limit": limit})
    return [Recipient.model_validate({**r, "bounce_type": r["bounce_type"] or None}) for r in rows]


# OWASP's CSV injection rule: a spreadsheet runs a cell that starts with one of these as a
# formula, so such a cell gets a leading single quote (text cells are always quoted by the
# engine's CSV, inner quotes doubled). Emails come from imported lists and reasons from
# remote mail servers: both are someone else's text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\\t", "\\r", "\\n")


def _neutralised(expression: str) -> str:
    triggers = ", ".join(f"'{t}'" for t in FORMULA_TRIGGERS)  # constants only
    quote = "'\\''"
    starts_a_formula = f"substring({expression}, 1, 1) IN ({triggers})"
    return f"if({starts_a_formula}, concat({quote}, {expression}), {expression})"


_REASON_ON_ONE_LINE = "replaceRegexpAll(reason, '[\\r\\n]+', ' ')"
RECIPIENTS_CSV_SQL = f"""
SELECT lead_id, {_neutralised("email")} AS email, status, bounce_type,
       {_neutralised(_REASON_ON_ONE_LINE)} AS reason, status_at
FROM lead_status FINAL
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
  AND lead_id > {{after:UUID}} AND ({{status:String}} = '' OR status = {{status:String}})
ORDER BY lead_id
LIMIT {{limit:UInt32}}
SETTINGS date_time_output_format = 'iso'
"""


async def recipients_csv(
    ch: AsyncClickHouse, account: UUID, campaign: UUID, status: str, chunk: int = 50_000
) -> AsyncIterator[bytes]:
    """Every recipient as CSV rows made by the engine, in keyset chunks of `chunk` rows.

    Line breaks inside reasons become spaces, so each row is one line and the last line
    of a chunk names the cursor of the next one.
    """
    after = NIL
    params: dict[str, Any] = {"account": account, "campaign": campaign, "status": status}
    while True:
        data = await ch.raw(RECIPIENTS_CSV_SQL, {**params, "after": after, "limit": chunk}, "CSV")
        if data:
            yield data
        lines = data.rstrip(b"\n").split(b"\n") if data else []
        if len(lines) < chunk:
            return
        after = UUID(lines[-1].split(b",", 1)[0].strip(b'"').decode())


# The campaign list's numbers: distinct leads of these steps, as the funnel counts them.
HEADLINES = ("sent", "delivered", "bounced", "complained", "opened", "clicked", "unsubscribed")
_HEADLINE_MERGES = ",\n       ".join(_merge_if(h) for h in HEADLINES)
_SINCE_HOUR = "toStartOfHour({since:DateTime('UTC')})"
_UNTIL = "{until:DateTime('UTC')}"

# The exact numbers of the campaigns with events in [since, until), from campaign_hourly:
# exact at once, but they merge the lead sets of every campaign asked for.
_EXACT_SELECT = f"""
SELECT campaign_id, min(hour) AS first_event_hour, max(hour) AS last_event_hour,
       {_HEADLINE_MERGES}
FROM campaign_hourly
WHERE account_id = {{account:UUID}} AND ({{campaigns}})
  AND hour >= {_SINCE_HOUR} AND hour < {_UNTIL}
GROUP BY campaign_id
"""
_NEWEST_FIRST = "ORDER BY last_event_hour DESC, campaign_id\nLIMIT {limit:UInt32}"
CAMPAIGNS_EXACT_SQL = _EXACT_SELECT.replace("{campaigns}", "1") + _NEWEST_FIRST

# The list from campaign_summary. A campaign whose events all lie in the window takes its
# summary's numbers (every number of the summary is then the window's); the first query
# answers alone when no campaign is cut by the window (events on both sides of a bound:
# `cut` counts them before the LIMIT). Without since/until no campaign is. Otherwise the
# second query counts the cut campaigns exactly over the window's hours, alone, and
# merges them in.
_INSIDE = f"first_hour >= {_SINCE_HOUR} AND last_hour < {_UNTIL}"
_SUMMARY = f"""
    SELECT campaign_id, min(first_event_hour) AS first_hour, max(last_event_hour) AS last_hour,
           {", ".join(f"max({h}) AS total_{h}" for h in HEADLINES)}
    FROM campaign_summary
    WHERE account_id = {{account:UUID}}
    GROUP BY campaign_id
    HAVING last_hour >= {_SINCE_HOUR} AND first_hour < {_UNTIL}
"""
_SUMMARY_COLUMNS = f"""campaign_id, first_hour AS first_event_hour, last_hour AS last_event_hour,
       {", ".join(f"total_{h} AS {h}" for h in HEADLINES)}"""
CAMPAIGNS_SQL = f"""
SELECT {_SUMMARY_COLUMNS}, countIf(NOT ({_INSIDE})) OVER () AS cut
FROM ({_SUMMARY})
{_NEWEST_FIRST}
"""
_CUT = f"campaign_id IN (SELECT campaign_id FROM summary WHERE NOT ({_INSIDE}))"
CAMPAIGNS_CUT_SQL = f"""
WITH summary AS ({_SUMMARY})
SELECT * FROM (
    SELECT {_SUMMARY_COLUMNS}
    FROM summary
    WHERE {_INSIDE}
    UNION ALL
    {_EXACT_SELECT.replace("{campaigns}", _CUT)}
)
{_NEWEST_FIRST}
"""  # the step names are the constants above, never input


async def campaigns(
    ch: AsyncClickHouse, account: UUID, since: datetime, until: datetime, limit: int
) -> list[dict[str, Any]]:
    """Campaigns with events in [since, until) (hour granularity) and their numbers in it,
    from campaign_summary (as fresh as its last recompute: docs/reports.md)."""
    params = {"account": account, "since": since, "until": until, "limit": limit}
    rows = await ch.dicts(CAMPAIGNS_SQL, params)
    if rows and rows[0]["cut"]:
        return await ch.dicts(CAMPAIGNS_CUT_SQL, params)
    return [{k: v for k, v in row.items() if k != "cut"} for row in rows]


async def campaigns_exact(
    ch: AsyncClickHouse, account: UUID, since: datetime, until: datetime, limit: int
) -> list[dict[str, Any]]:
    """`campaigns` computed from campaign_hourly alone: exact at once, slow for an account
    of many campaigns (the reference of the summary's tests and benchmark)."""
    params = {"account": account, "since": since, "until": until, "limit": limit}
    return await ch.dicts(CAMPAIGNS_EXACT_SQL, params)


# A lead's send outcomes come from send_outcomes (one per campaign, by precedence), the
# provider's events from email_events.
HISTORY_SQL = """
SELECT event_id, campaign_id, type, bounce_type, reason, provider, provider_message_id,
       email, occurred_at
FROM (
    SELECT event_id, campaign_id, type, bounce_type, reason, provider, provider_message_id,
           email, occurred_at
    FROM email_events
    WHERE account_id = {account:UUID} AND lead_id = {lead:UUID}
      AND type NOT IN ('sent', 'failed', 'suppressed', 'cancelled')
    LIMIT 1 BY event_id
    UNION ALL
    SELECT event_id, campaign_id, status AS type, '' AS bounce_type, reason, provider,
           provider_message_id, email, status_at AS occurred_at
    FROM send_outcomes FINAL
    WHERE account_id = {account:UUID} AND lead_id = {lead:UUID}
)
ORDER BY occurred_at, event_id
LIMIT {limit:UInt32}
"""


async def lead_history(
    ch: AsyncClickHouse, account: UUID, lead: UUID, limit: int
) -> list[LeadEvent]:
    """A lead's distinct events across the account's campaigns, oldest first."""
    rows = await ch.dicts(HISTORY_SQL, {"account": account, "lead": lead, "limit": limit})
    return [LeadEvent.model_validate({**r, "bounce_type": r["bounce_type"] or None}) for r in rows]


BREAKDOWN_SQL = """
SELECT {dimension:Identifier} AS value, uniqExact(lead_id) AS leads
FROM email_events
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID} AND type = {type:String}
GROUP BY value
ORDER BY leads DESC, value
LIMIT 50
"""
BOUNCE_DIMENSIONS = ("bounce_type", "reason", "domain")
EXCLUSION_DIMENSIONS = ("reason", "domain")


def _breakdowns_sql(dimensions: tuple[str, ...]) -> str:
    """One pass over the campaign's events of one type: each event counted under ('', '')
    (the total) and under each (dimension, its value); the top 50 values per dimension.
    Four queries, one per dimension and one for the total, took 2.7 times as long (132
    against 50 ms p50 for a campaign of 1M leads)."""
    pairs = ", ".join(f"('{d}', {d})" for d in dimensions)  # column names: constants only
    return f"""
SELECT d.1 AS dimension, d.2 AS value, uniqExact(lead_id) AS leads
FROM email_events
ARRAY JOIN [('', ''), {pairs}] AS d
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}} AND type = {{type:String}}
GROUP BY dimension, value
ORDER BY dimension, leads DESC, value
LIMIT 50 BY dimension
"""


_BREAKDOWNS_SQL: dict[tuple[str, ...], str] = {
    dims: _breakdowns_sql(dims) for dims in (BOUNCE_DIMENSIONS, EXCLUSION_DIMENSIONS)
}


async def breakdown(
    ch: AsyncClickHouse,
    account: UUID,
    campaign: UUID,
    event_type: EventType,
    dimensions: tuple[str, ...],
) -> tuple[int, dict[str, list[Breakdown]]]:
    """Distinct leads of the campaign with an `event_type` event, and the top 50 values of
    each of `dimensions` (columns of `email_events`, one of the tuples above)."""
    params: dict[str, Any] = {"account": account, "campaign": campaign, "type": event_type.value}
    total = 0
    breakdowns: dict[str, list[Breakdown]] = {dimension: [] for dimension in dimensions}
    for dimension, value, leads in await ch.rows(_BREAKDOWNS_SQL[dimensions], params):
        if dimension:
            breakdowns[dimension].append(Breakdown(value=value, leads=leads))
        else:
            total = int(leads)
    return total, breakdowns


async def bounces(
    ch: AsyncClickHouse, account: UUID, campaign: UUID
) -> tuple[int, dict[str, list[Breakdown]]]:
    """Bounced leads, by bounce type, reason and recipient domain."""
    return await breakdown(ch, account, campaign, EventType.BOUNCED, BOUNCE_DIMENSIONS)


async def exclusions(
    ch: AsyncClickHouse, account: UUID, campaign: UUID
) -> tuple[int, dict[str, list[Breakdown]]]:
    """Leads left out at resolve time, by reason and recipient domain."""
    return await breakdown(ch, account, campaign, EventType.EXCLUDED, EXCLUSION_DIMENSIONS)


TIMELINE_SQL = """
SELECT toStartOfMinute(status_at) AS minute,
       countIf(status = 'sent') AS sent,
       countIf(status = 'failed') AS failed
FROM send_outcomes FINAL
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
  AND status IN ('sent', 'failed')
GROUP BY minute
ORDER BY minute
"""


async def timeline(ch: AsyncClickHouse, account: UUID, campaign: UUID) -> list[Minute]:
    """Send outcomes per minute."""
    rows = await ch.dicts(TIMELINE_SQL, {"account": account, "campaign": campaign})
    return [Minute.model_validate(r) for r in rows]


# What the provider reported back, in the order a lead goes through it.
ACTIVITY_TYPES = ("delivered", "bounced", "complained", "opened", "clicked", "unsubscribed")
ACTIVITY_SQL = f"""
SELECT toStartOfMinute(occurred_at) AS minute,
       {", ".join(f"uniqExactIf(lead_id, type = '{t}') AS {t}" for t in ACTIVITY_TYPES)}
FROM email_events
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
  AND type IN ({", ".join(f"'{t}'" for t in ACTIVITY_TYPES)})
GROUP BY minute
ORDER BY minute
"""  # the types are the constants above, never input


async def activity(ch: AsyncClickHouse, account: UUID, campaign: UUID) -> list[ActivityMinute]:
    """Provider-reported events per minute (distinct leads per type and minute)."""
    rows = await ch.dicts(ACTIVITY_SQL, {"account": account, "campaign": campaign})
    return [ActivityMinute.model_validate(r) for r in rows]
