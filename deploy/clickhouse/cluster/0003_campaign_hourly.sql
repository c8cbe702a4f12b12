-- Cluster variant of 0003_campaign_hourly.sql: set states merge exactly across shards.
CREATE TABLE IF NOT EXISTS campaign_hourly_local ON CLUSTER '{cluster}'
(
    account_id UUID,
    campaign_id UUID,
    hour DateTime('UTC'),
    type LowCardinality(String),
    bounce_type LowCardinality(String),
    leads AggregateFunction(uniqExact, UUID)
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/campaign_hourly', '{replica}')
PARTITION BY toYYYYMM(hour)
ORDER BY (account_id, campaign_id, hour, type, bounce_type);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_hourly_mv ON CLUSTER '{cluster}' TO campaign_hourly_local AS
SELECT
    account_id,
    campaign_id,
    toStartOfHour(occurred_at) AS hour,
    type,
    bounce_type,
    uniqExactState(lead_id) AS leads
FROM email_events_local
GROUP BY account_id, campaign_id, hour, type, bounce_type;

CREATE TABLE IF NOT EXISTS campaign_hourly ON CLUSTER '{cluster}' AS campaign_hourly_local
ENGINE = Distributed('{cluster}', currentDatabase(), campaign_hourly_local, cityHash64(campaign_id))
