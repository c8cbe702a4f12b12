-- The append-only event log: one row per event, the source of truth of every report.
-- ReplacingMergeTree keyed on event_id collapses redelivered copies of an event at merge
-- time; queries that must be exact before a merge deduplicate by event_id themselves
-- (uniqExact(event_id), LIMIT 1 BY event_id). The dedup window drops a retried insert
-- whose insert_deduplication_token was already seen.
CREATE TABLE IF NOT EXISTS email_events
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
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (account_id, campaign_id, lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
