-- The terminal send outcome of every (campaign, lead), resolved by outcome precedence:
--     sent > failed > suppressed > cancelled      (an accepted send always wins)
-- then by the later time. A lead has one outcome event id per campaign whatever the
-- outcome (shared/contracts/events.py, outcome_event_id); should two outcomes of one
-- lead ever differ (e.g. `suppressed` recorded for an email the provider had accepted),
-- email_events, a ReplacingMergeTree without a version, would keep whichever row was
-- inserted last at its next merge, and campaign_hourly would count the lead under both
-- types. Reports read send outcomes from here instead: the funnel's sent / failed /
-- suppressed / cancelled, the timeline and the outcome in a lead's history. The version
-- packs the precedence into the top bits and the time in milliseconds into the low 44
-- bits (as lead_status does), so a redelivered event produces the same version:
-- idempotent. Read it with FINAL. services/report_sink/precedence.py holds the same
-- order; a test keeps the two in step.
CREATE TABLE IF NOT EXISTS send_outcomes
(
    account_id UUID,
    campaign_id UUID,
    lead_id UUID,
    event_id UUID,
    email String,
    status LowCardinality(String),
    provider LowCardinality(String),
    provider_message_id String,
    reason String,
    status_at DateTime64(3, 'UTC'),
    version UInt64,
    INDEX idx_lead lead_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account_id, campaign_id, lead_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS send_outcomes_mv TO send_outcomes AS
SELECT
    account_id,
    campaign_id,
    lead_id,
    event_id,
    email,
    type AS status,
    provider,
    provider_message_id,
    reason,
    occurred_at AS status_at,
    bitShiftLeft(
        toUInt64(transform(type, ['cancelled', 'suppressed', 'failed', 'sent'], [1, 2, 3, 4], 0)),
        44
    ) + toUInt64(toUnixTimestamp64Milli(occurred_at)) AS version
FROM email_events
WHERE type IN ('cancelled', 'suppressed', 'failed', 'sent');

-- The outcomes stored before this migration (rows the view also got while this ran
-- are the same rows with the same version: they collapse).
INSERT INTO send_outcomes
SELECT
    account_id,
    campaign_id,
    lead_id,
    event_id,
    email,
    type AS status,
    provider,
    provider_message_id,
    reason,
    occurred_at AS status_at,
    bitShiftLeft(
        toUInt64(transform(type, ['cancelled', 'suppressed', 'failed', 'sent'], [1, 2, 3, 4], 0)),
        44
    ) + toUInt64(toUnixTimestamp64Milli(occurred_at)) AS version
FROM email_events
WHERE type IN ('cancelled', 'suppressed', 'failed', 'sent')
