-- The campaign list's numbers, one row per campaign once merged: what the list would
-- otherwise compute on every request by merging campaign_hourly's uniqExact states of
-- every campaign of the account (docs/reports.md, "Campaign summary").
--
-- Every column only grows (or, for first_event_hour, only shrinks): the counts are
-- distinct leads of sets that only gain elements, the hours and times only move on. So
-- the rows of one campaign merge by max (min for the first hour), whoever wrote them and
-- in whatever order: several sink instances recomputing one campaign at once, or a
-- recompute racing the view below, can only leave the newest numbers.
--
-- Two writers:
-- - campaign_summary_mv, on every insert into email_events: the first and last event
--   hour (exact at once) and touched_at, when the campaign last received events;
-- - report_sink, a few seconds after a campaign was touched (and on start-up, and on a
--   partition assignment, for every campaign touched after its last recompute): the
--   distinct-lead counts from campaign_hourly, with computed_at.
-- touched_at ≥ computed_at marks a campaign whose counts may be stale: durable, so a
-- recompute that a crash prevented is done by whichever instance starts next.
CREATE TABLE IF NOT EXISTS campaign_summary
(
    account_id UUID,
    campaign_id UUID,
    first_event_hour SimpleAggregateFunction(min, DateTime('UTC')),
    last_event_hour SimpleAggregateFunction(max, DateTime('UTC')),
    sent SimpleAggregateFunction(max, UInt64),
    delivered SimpleAggregateFunction(max, UInt64),
    bounced SimpleAggregateFunction(max, UInt64),
    complained SimpleAggregateFunction(max, UInt64),
    opened SimpleAggregateFunction(max, UInt64),
    clicked SimpleAggregateFunction(max, UInt64),
    unsubscribed SimpleAggregateFunction(max, UInt64),
    touched_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    computed_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (account_id, campaign_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_summary_mv TO campaign_summary AS
SELECT
    account_id,
    campaign_id,
    min(toStartOfHour(occurred_at)) AS first_event_hour,
    max(toStartOfHour(occurred_at)) AS last_event_hour,
    now64(3, 'UTC') AS touched_at
FROM email_events
GROUP BY account_id, campaign_id;

-- The campaigns stored before this migration, counted once (touched_at stays at its
-- zero: nothing waits to be recomputed).
INSERT INTO campaign_summary
SELECT
    account_id,
    campaign_id,
    min(hour) AS first_event_hour,
    max(hour) AS last_event_hour,
    uniqExactMergeIf(leads, type = 'sent') AS sent,
    uniqExactMergeIf(leads, type = 'delivered') AS delivered,
    uniqExactMergeIf(leads, type = 'bounced') AS bounced,
    uniqExactMergeIf(leads, type = 'complained') AS complained,
    uniqExactMergeIf(leads, type = 'opened') AS opened,
    uniqExactMergeIf(leads, type = 'clicked') AS clicked,
    uniqExactMergeIf(leads, type = 'unsubscribed') AS unsubscribed,
    toDateTime64(0, 3, 'UTC') AS touched_at,
    now64(3, 'UTC') AS computed_at
FROM campaign_hourly
GROUP BY account_id, campaign_id
SETTINGS optimize_aggregation_in_order = 1
