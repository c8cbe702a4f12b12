"""report_sink settings (env prefix `FANOUT_REPORT_SINK_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.http.rate_limits import RateLimitSpec, rate_limit_setting
from shared.kafka.strategies.batched_runner import EVENTS_FETCH_MAX_WAIT_MS
from shared.settings import Seconds, SecretName, ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Batching, ClickHouse limits and the analysts' SQL endpoint."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_REPORT_SINK_", extra="ignore")

    port: int = 8702
    group_id: str = "report_sink"
    batch_max_events: int = Field(50_000, ge=1, description="Insert when this many events wait.")
    batch_max_seconds: Seconds = Field(1.0, description="...or when the oldest waited this.")
    poll_max_records: int = Field(10_000, ge=1, description="Records per Kafka poll.")
    fetch_min_bytes: int = Field(
        1024 * 1024,
        ge=1,
        description="The broker answers the sink's fetch once this many bytes of events are "
        "there (or after fetch_max_wait_ms): a few fetches a second on a busy topic instead "
        "of one per producer batch (at 15,000 events/s, 0.1 of a core less in the sink and "
        "0.05 in the broker than aiokafka's 1 byte).",
    )
    fetch_max_wait_ms: int = Field(
        EVENTS_FETCH_MAX_WAIT_MS,
        ge=0,
        description="...or after this wait: the most a quiet topic's event is delayed "
        "(well within batch_max_seconds).",
    )
    insert_concurrency: int = Field(
        2,
        ge=1,
        le=8,
        description="Inserts that may run at once, each on a client of its own. An insert's "
        "views and parts are written by one thread: under a backlog (after an outage, a "
        "burst) a second insert keeps the other core busy; at a campaign's pace batches are "
        "cut by time and rarely overlap.",
    )
    retry_backoff_s: Seconds = Field(0.5, description="First back-off after a failed insert.")
    max_retry_backoff_s: Seconds = Field(10.0, description="Longest back-off.")
    chdb_max_memory_bytes: int = Field(
        4 * 1024**3, description="Memory cap of the embedded engine (max_server_memory_usage)."
    )
    query_max_memory_bytes: int = Field(
        1024**3, description="Memory cap of one report or analyst query (max_memory_usage)."
    )
    chdb_cache_bytes: int = Field(
        32 * 1024**2,
        ge=0,
        description="Size of each of the embedded engine's caches (marks, primary index, "
        "skip-index marks, query conditions, compiled expressions); the engine's own "
        "default is 5 GiB each, which it fills and keeps.",
    )
    chdb_background_pool_size: int = Field(
        2, ge=1, description="Threads of the embedded engine's merges (background_pool_size)."
    )
    chdb_merge_nice: int = Field(
        19,
        ge=0,
        le=19,
        description="Nice value of the embedded engine's merge threads "
        "(services/report_sink/threads.py): merges run on what the reports and inserts leave "
        "idle; 0 leaves them at the process's priority.",
    )
    chdb_events_merge_selector_base: int = Field(
        20,
        ge=2,
        le=1000,
        description="`merge_selector_base` of the embedded engine's `email_events` table "
        "(services/report_sink/schema.py, `tune_event_merges`): how many parts of a like size "
        "wait before they are merged. 20 instead of ClickHouse's 5: a fifth less merge CPU "
        "per event over a store's life, for about three times the event log's parts.",
    )
    chdb_max_merge_bytes: int = Field(
        256 * 1024**2,
        ge=0,
        description="Largest part a merge may write in the embedded engine's growing tables "
        "(`max_bytes_to_merge_at_max_space_in_pool`; services/report_sink/schema.py, "
        "`cap_merges`): a row is rewritten until its part reaches this size, whatever the "
        "store's, instead of once more for each level of part sizes a bigger store adds. 0: "
        "ClickHouse's default (150 GB).",
    )
    chdb_lead_set_merge_block_rows: int = Field(
        8,
        ge=1,
        le=8192,
        description="Rows of `campaign_hourly` (sets of lead ids) a merge of the embedded "
        "engine reads at once from each part (`merge_max_block_size`; "
        "services/report_sink/schema.py, `tune_lead_set_merges`): 8 instead of ClickHouse's "
        "8,192, so a merge does not build every set of a part in memory at once.",
    )
    chdb_release_code: bool = Field(
        True,
        description="After start-up, hand back the resident pages of chDB's library that "
        "start-up touched (services/report_sink/memory.py): about 270 MB of RSS.",
    )
    malloc_arena_max: int = Field(
        2,
        ge=0,
        description="Cap on glibc's malloc arenas (M_ARENA_MAX) for the embedded engine's "
        "threads; 0 leaves glibc's default (8 per core).",
    )
    summary_interval_s: Seconds = Field(
        5.0,
        description="Shortest time between two recomputes of one campaign's numbers in the "
        "campaign list (campaign_summary): how stale the list may be, plus one recompute.",
    )
    summary_busy_share: float = Field(
        0.02,
        gt=0,
        le=1,
        description="Largest share of time the summary worker spends recomputing: after a "
        "recompute of t seconds the campaigns wait t / share before the next (never less than "
        "summary_interval_s), so large campaigns cost the sink a bounded share of a core.",
    )
    summary_max_threads: int = Field(
        1,
        ge=0,
        description="Threads one recompute of the campaign list's numbers may use (ClickHouse "
        "max_threads; 0: the engine's default, one per core). With one, the busy share paces "
        "the recomputes' CPU, not only their time.",
    )
    csv_chunk_rows: int = Field(50_000, ge=1, description="Rows per keyset read of a CSV export.")
    rate_limit: RateLimitSpec = rate_limit_setting()
    max_body_bytes: int = Field(
        1024 * 1024, ge=1, description="Largest request body (POST /internal/sql); 413 above."
    )
    sql_max_rows: int = Field(
        10_000, ge=1, description="Rows one analyst query may return (more: refused)."
    )
    sql_max_seconds: int = Field(30, ge=1, description="Time one analyst query may run.")
    sql_max_result_bytes: int = Field(
        16 * 1024**2, ge=1, description="Bytes one analyst query may return (more: refused)."
    )
    db_pool_size: int = db_pool_size(5)

    def engine_options(self) -> dict[str, int]:
        """Server settings of the embedded engine, set when report_sink opens it."""
        cache = self.chdb_cache_bytes
        return {
            "mark_cache_size": cache,
            "index_mark_cache_size": cache,
            "primary_index_cache_size": cache,
            "query_condition_cache_size": cache,
            "compiled_expression_cache_size": cache,
            "background_pool_size": self.chdb_background_pool_size,
        }

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"

    def required_secrets(self) -> tuple[SecretName, ...]:
        """`POST /internal/sql` answers only to the admin token (FANOUT_ADMIN_TOKEN)."""
        return ("ops_token", "admin_token")
