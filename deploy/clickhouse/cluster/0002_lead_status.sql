-- Cluster variant of 0002_lead_status.sql: the view runs on each shard's local events.
CREATE TABLE IF NOT EXISTS lead_status_local ON CLUSTER '{cluster}'
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/lead_status', '{replica}', version)
ORDER BY (account_id, campaign_id, lead_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS lead_status_mv ON CLUSTER '{cluster}' TO lead_status_local AS
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
FROM email_events_local;

CREATE TABLE IF NOT EXISTS lead_status ON CLUSTER '{cluster}' AS lead_status_local
ENGINE = Distributed('{cluster}', currentDatabase(), lead_status_local, cityHash64(campaign_id, lead_id))
