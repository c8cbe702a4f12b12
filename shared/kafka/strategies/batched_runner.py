"""A runner of the batched strategy over a topic of event batches, built one way for every
consumer of `email.events` that writes in batches (the guard, the notifier; report_sink's
`SinkConsumer` builds the same, its fetch minimum a setting of its own with this default).

Five settings of the service size it (`BatchedSettings`). Its consumer fetches in bulk:
the broker answers a fetch once `EVENTS_FETCH_MIN_BYTES` are there or after
`EVENTS_FETCH_MAX_WAIT_MS`, instead of as soon as one record is (aiokafka's default),
so a busy topic costs the broker, and the consumer, a few fetches a second rather than one
per producer batch; a quiet one delays a record by 0.2 s at most, well within the batch's
own `batch_max_seconds`. 1 MiB rather than the 64 KiB it was: at the stack's full speed the
guard and the notifier then made a quarter of the fetches of `email.events` and cost 10 and
13 % less CPU per email, the broker 15 % less (bench/results/20261204T1228Z-events-fetch-min).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from shared.kafka.consumer import ConsumerOptions
from shared.kafka.deadletter import LetterProducer
from shared.kafka.runner import PartitionHook, Runner, RunnerOptions
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategies.writes import BatchStep
from shared.kafka.strategy import Backoff
from shared.settings import CommonSettings

T = TypeVar("T")

EVENTS_PER_RECORD_HINT = 50  # sizes the first poll before events per record are measured
EVENTS_FETCH_MIN_BYTES = 1024 * 1024
EVENTS_FETCH_MAX_WAIT_MS = 200
EVENTS_CONSUMER = ConsumerOptions(
    fetch_min_bytes=EVENTS_FETCH_MIN_BYTES, fetch_max_wait_ms=EVENTS_FETCH_MAX_WAIT_MS
)


class BatchedSettings(Protocol):
    """The settings a batched consumer of a service is built from."""

    @property
    def common(self) -> CommonSettings: ...
    @property
    def consumer_group(self) -> str: ...
    @property
    def batch_max_events(self) -> int: ...
    @property
    def batch_max_seconds(self) -> float: ...
    @property
    def retry_backoff_s(self) -> float: ...
    @property
    def max_retry_backoff_s(self) -> float: ...


def batched_runner(
    settings: BatchedSettings,
    topics: Sequence[str],
    step: BatchStep[T],
    producer: LetterProducer,
    *,
    consumer: ConsumerOptions = EVENTS_CONSUMER,
    weight_hint: float = EVENTS_PER_RECORD_HINT,
    on_assign: PartitionHook | None = None,
) -> Runner:
    """A runner of `settings.consumer_group` writing batches of `topics` with `step`:
    ≤ batch_max_events events or batch_max_seconds old, failed writes retried with
    back-off; `consumer` tunes its consumer (bulk fetches by default)."""
    return Runner(
        common=settings.common,
        group=settings.consumer_group,
        topics=topics,
        strategy=lambda ctx: Batched(
            ctx,
            step=step,
            max_weight=settings.batch_max_events,
            max_seconds=settings.batch_max_seconds,
            backoff=Backoff(settings.retry_backoff_s, settings.max_retry_backoff_s),
            weight_hint=weight_hint,
        ),
        producer=producer,
        options=RunnerOptions(consumer=consumer),
        on_assign=on_assign,
    )
