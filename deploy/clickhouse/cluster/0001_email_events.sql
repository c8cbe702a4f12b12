-- Cluster variant of services/report_sink/migrations/0001_email_events.sql.
-- Local replicated tables on every node (`*_local`), Distributed tables with the names
-- the reports query (`email_events`, ...), so the report SQL is unchanged.
-- Sharding key cityHash64(campaign_id, lead_id): every event of a (campaign, lead) lands
-- on one shard, so FINAL / argMax / the views stay exact shard by shard.
-- Macros {cluster}, {shard}, {replica} come from each server's config.
CREATE TABLE IF NOT EXISTS email_events_local ON CLUSTER '{cluster}'
(
    event_id UUID,
    account_id UUID,
    campaign_id UUID,
    lead_id UUID,
    email String,
    type LowCardinality(String),
    provider LowCardinality(String),
    provider_message_id String,
    reason String,
    bounce_type LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    domain LowCardinality(String) MATERIALIZED lower(substring(email, position(email, '@') + 1)),
    inserted_at DateTime('UTC') DEFAULT now(),
    INDEX idx_lead lead_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/email_events', '{replica}')
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (account_id, campaign_id, lead_id, event_id)
SETTINGS replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS email_events ON CLUSTER '{cluster}' AS email_events_local
ENGINE = Distributed('{cluster}', currentDatabase(), email_events_local, cityHash64(campaign_id, lead_id))
