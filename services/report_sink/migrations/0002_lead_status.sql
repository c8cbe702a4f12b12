-- The latest status of every (campaign, lead), by precedence first and time second
-- (docs/reports.md, "Status precedence"). The version packs the precedence into the top
-- bits and the event time in milliseconds into the low 44 bits, so ReplacingMergeTree
-- keeps the row with the highest (precedence, time). Redelivered events produce the same
-- version: idempotent. Out-of-order arrival does not matter: the max wins whatever the
-- order. Read it with FINAL (or argMax(status, version) ... GROUP BY lead_id).
CREATE TABLE IF NOT EXISTS lead_status
(
    account_id UUID,
    campaign_id UUID,
    lead_id UUID,
    email String,
    status LowCardinality(String),
    bounce_type LowCardinality(String),
    reason String,
    status_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account_id, campaign_id, lead_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS lead_status_mv TO lead_status AS
SELECT
    account_id,
    campaign_id,
    lead_id,
    email,
    type AS status,
    bounce_type,
    reason,
    occurred_at AS status_at,
    bitShiftLeft(
        toUInt64(transform(
            type,
            ['queued', 'cancelled', 'suppressed', 'failed', 'sent', 'delivered',
             'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            0
        )),
        44
    ) + toUInt64(toUnixTimestamp64Milli(occurred_at)) AS version
FROM email_events
