"""Every Prometheus metric Fanout exports, in one typed list.

Labels stay low-cardinality: service, topic, provider, outcome; never a
campaign or lead id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Records a consumer runner handed to its strategy.
CONSUMED = Counter("fanout_consumed_records_total", "Records consumed", ["group", "topic"])
# Records refused by their contract and sent to the dead-letter topic.
DEAD_LETTERED = Counter("fanout_dead_lettered_total", "Records dead-lettered", ["group", "topic"])
# Handler or write failures that were retried (the records stay with the strategy meanwhile).
HANDLER_RETRIES = Counter("fanout_handler_retries_total", "Retried handler failures", ["group"])
# Consumers a runner replaced because they stopped fetching while the broker answered.
CONSUMER_REBUILDS = Counter(
    "fanout_consumer_rebuilds_total", "Stalled consumers rebuilt by their runner", ["group"]
)
# Idempotent producer sessions started anew after the broker refused their sequence numbers.
PRODUCER_SESSION_RESETS = Counter(
    "fanout_kafka_producer_session_resets_total", "Producer sessions renewed"
)
# Offset commits made by consumer runners.
COMMITS = Counter("fanout_offset_commits_total", "Offset commits", ["group"])
# Records between a consumer's last commit and its partition's end (the scaling signal), per
# partition this instance owns: `partition` is bounded by the topic's partition count (≤ 12),
# and a revoked partition's series is removed, so summing over instances counts each once.
CONSUMER_LAG = Gauge(
    "fanout_consumer_lag_records", "Records behind the last commit", ["group", "partition"]
)
# Wall time a consumer handler (or batch write) spent on one batch.
HANDLE_SECONDS = Histogram("fanout_handle_seconds", "Handler time per batch", ["group"])
# Partitions currently assigned to this process.
ASSIGNED_PARTITIONS = Gauge("fanout_assigned_partitions", "Assigned partitions", ["group"])
# Emails handed to an ESP, by provider and outcome (sent, failed, retried).
EMAILS = Counter("fanout_emails_total", "Emails by outcome", ["provider", "outcome"])
# ESP API calls by provider and HTTP status class.
ESP_CALLS = Counter("fanout_esp_calls_total", "ESP calls", ["provider", "status"])
# ESP call latency.
ESP_SECONDS = Histogram("fanout_esp_call_seconds", "ESP call latency", ["provider"])
# Batches emitted by the lead resolver.
BATCHES_EMITTED = Counter("fanout_batches_emitted_total", "Send batches emitted")
# Webhook requests by provider and result (accepted, unauthorized, malformed).
WEBHOOKS = Counter("fanout_webhooks_total", "Webhook requests", ["provider", "result"])
# webhook_ingest: requests refused as unauthenticated, by provider and reason (missing,
# malformed, stale, mismatch, replayed, certificate, not_configured); the 401 body names none.
WEBHOOK_REFUSALS = Counter(
    "fanout_webhook_refusals_total", "Webhook requests refused (401)", ["provider", "reason"]
)
# Events inserted into ClickHouse by the report sink.
SINK_EVENTS = Counter("fanout_sink_events_total", "Events inserted into ClickHouse")
# Callers refused with a 401, by reason (missing, not a Bearer token, malformed key, unknown
# key, revoked key, missing admin token, wrong admin token). The caller only ever sees a
# generic answer; a rise of one reason tells operators what is going on (a leaked revoked
# key still in use, a client sending the key without `Bearer `, someone guessing).
AUTH_REFUSED = Counter("fanout_auth_refused_total", "Refused authentications", ["reason"])
# campaign_api: campaigns queued, resolving or sending whose progress (updated_at) has not
# moved for FANOUT_CAMPAIGN_API_STALLED_AFTER_SECONDS (no consumer, lag, provider stopped).
CAMPAIGNS_STALLED = Gauge("fanout_campaigns_stalled", "Running campaigns without progress")
# campaign_api: the same campaigns by likely reason (no_consumer, lag_growing, provider_stopped,
# unknown; docs/operations.md), every reason exported, 0 included.
CAMPAIGNS_STALLED_BY_REASON = Gauge(
    "fanout_campaigns_stalled_by_reason", "Running campaigns without progress", ["reason"]
)
# campaign_api: requests carrying an Idempotency-Key, by outcome (first: ran and stored;
# stored: a retry found an answer; mismatch: the key came with another request, 422;
# in_progress: the first one still ran, 409).
IDEMPOTENT_REQUESTS = Counter(
    "fanout_idempotent_requests_total", "Requests with an Idempotency-Key", ["outcome"]
)
# Requests refused with 429 because their API key used up a rate-limit policy
# (shared/http/rate_limits.py), by the policy's name in RateLimit-Policy ("second", ...).
RATE_LIMITED = Counter("fanout_rate_limited_total", "Requests refused by rate limits", ["policy"])
# Launch commands relayed from the outbox to Kafka.
OUTBOX_RELAYED = Counter("fanout_outbox_relayed_total", "Outbox rows relayed to Kafka")
# Lead rows accepted by bulk imports (campaign_api).
LEADS_IMPORTED = Counter("fanout_leads_imported_total", "Lead rows imported")
# Campaign state moves by action, every service's (all go through `shared.campaigns`).
CAMPAIGN_TRANSITIONS = Counter(
    "fanout_campaign_transitions_total", "Campaign state transitions", ["action"]
)
# ESP simulator: bulk calls by answer (ok, throttled, unavailable, unauthorized, invalid).
SIMULATOR_CALLS = Counter("fanout_esp_simulator_calls_total", "Simulator bulk calls", ["result"])
# ESP simulator: recipients by status (accepted, duplicate, throttled, transient_error, rejected).
SIMULATOR_RECIPIENTS = Counter(
    "fanout_esp_simulator_recipients_total", "Simulator recipients", ["status"]
)
# ESP simulator: webhook posts by result (ok, failed).
SIMULATOR_WEBHOOK_POSTS = Counter(
    "fanout_esp_simulator_webhook_posts_total", "Simulator webhook posts", ["result"]
)
# ESP simulator: outcome events waiting to be accepted by the webhook receiver.
SIMULATOR_WEBHOOK_PENDING = Gauge(
    "fanout_esp_simulator_webhook_pending_events", "Simulator events pending delivery"
)
# webhook_ingest: provider events by disposition (emitted, unattributed = not sent by Fanout,
# ignored = a provider event type that maps to no email event, dead_lettered = cannot be parsed).
WEBHOOK_EVENTS = Counter(
    "fanout_webhook_events_total", "Webhook provider events", ["provider", "disposition"]
)
# sender: send batches being processed by this instance right now.
SEND_BATCHES_IN_FLIGHT = Gauge("fanout_send_batches_in_flight", "Send batches in flight")
# sender: send batches sleeping before a retry the provider asked for (429, throttled, 5xx).
SEND_BATCHES_WAITING = Gauge(
    "fanout_send_batches_waiting_on_provider", "Batches backing off", ["provider"]
)
# sender: campaigns with at least one batch waiting on the provider in this instance.
CAMPAIGNS_WAITING = Gauge("fanout_campaigns_waiting_on_provider", "Campaigns waiting on the ESP")
# sender: batches replayed after a redelivery, by kind (recorded: outcome re-emitted, nothing
# sent; in_flight: the call that was in flight is repeated).
SEND_REPLAYS = Counter("fanout_send_batch_replays_total", "Send batches replayed", ["kind"])
# sender: recipients held back in send_batch_deferrals, by why (paused, provider_stopped,
# domain_rate: over their receiving domain's rate, re-emitted when it has room).
RECIPIENTS_PARKED = Counter("fanout_recipients_parked_total", "Recipients parked", ["reason"])
# sender: recipients whose lead fields were read at send time, their batch resolved for a
# template that read fewer (the template was edited since).
MERGE_FIELDS_READ = Counter(
    "fanout_sender_merge_fields_read_total", "Recipients given lead fields at send time"
)
# sender: campaign state announcements received (LISTEN), and listener reconnects.
CAMPAIGN_CHANGES = Counter("fanout_campaign_changes_total", "Campaign changes seen", ["kind"])
# sender: this instance's current send rate (share of the budget × AIMD factor), per provider.
SEND_RATE = Gauge("fanout_send_rate_per_second", "Current send rate", ["provider"])
# lead_resolver: leads emitted in send batches (the matched leads not excluded).
LEADS_RESOLVED = Counter("fanout_leads_resolved_total", "Leads emitted in send batches")
# lead_resolver: matched leads left out at resolve time, by reason (suppressed, unsubscribed,
# invalid_email, duplicate).
LEADS_EXCLUDED = Counter("fanout_leads_excluded_total", "Matched leads excluded", ["reason"])
# lead_resolver: parked batches re-emitted after a provider stop (resume or cancel).
BATCHES_REEMITTED = Counter("fanout_batches_reemitted_total", "Parked batches re-emitted")
# notifier: outbound webhook deliveries queued, by source (campaign, lead, notice).
WEBHOOK_DELIVERIES_QUEUED = Counter(
    "fanout_webhook_deliveries_queued_total", "Outbound webhook deliveries queued", ["source"]
)
# notifier: attempts to deliver outbound webhooks, by result (succeeded, failed, refused).
WEBHOOK_ATTEMPTS = Counter(
    "fanout_webhook_attempts_total", "Outbound webhook delivery attempts", ["result"]
)
# notifier: endpoints disabled automatically after failing too long.
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "fanout_webhook_endpoints_disabled_total", "Webhook endpoints disabled for failing"
)
# guard: campaigns it paused, by rule (campaign, window, account) and rate (hard-bounce,
# complaint).
GUARD_PAUSES = Counter(
    "fanout_guard_pauses_total", "Campaigns paused by the guard", ["rule", "rate"]
)
# guard: delivered, bounced and complained events counted, and copies of an event it had
# counted already (a re-published webhook) that it dropped.
GUARD_EVENTS = Counter("fanout_guard_events_total", "Events counted by the guard", ["kind"])
# sender: per-recipient rate-limit deferrals (4.7.x) answered by receiving domains, per provider.
DOMAIN_DEFERRALS = Counter(
    "fanout_domain_deferrals_total", "Receiving-domain rate-limit deferrals", ["provider"]
)
# sender: receiving-domain groups whose rate this instance lowered after deferrals (AIMD
# factor below 1), per provider.
DOMAINS_SLOWED = Gauge(
    "fanout_domains_slowed", "Receiving domains slowed by deferrals", ["provider"]
)
# lead_resolver: times a campaign was held until the next day by a warm-up allowance.
WARMUP_HOLDS = Counter("fanout_warmup_holds_total", "Campaigns held by a warm-up allowance")
