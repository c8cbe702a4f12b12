"""Writing one batch: the service's write, retried until it succeeds, same body, same token.

After the first refusal every record of the batch is decoded again strictly
(`BatchStep.recheck`); those that fail go to the dead-letter topic and the
rebuilt batch gets a new token (the store must not mistake a different body for
the one it may have half-kept). Every later retry sends that same body and token.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, TypeVar

import structlog

from shared import metrics
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategy import Backoff, Context, KafkaRecord

T = TypeVar("T")
log = structlog.get_logger(__name__)


class BatchStep(Protocol[T]):
    """What a service supplies: how to decode a record and how to write a batch."""

    def decode(self, record: KafkaRecord) -> tuple[T, int]:
        """The record's value for the write and its weight; raises when invalid."""
        ...

    def recheck(self, record: KafkaRecord) -> tuple[T, int]:
        """Like `decode`, with every check (after the store refused a write)."""
        ...

    async def write(self, batch: Batch[T]) -> None:
        """Write the batch idempotently (`batch.token()`); raises to be retried."""
        ...


async def write_until_done(
    step: BatchStep[T], batch: Batch[T], ctx: Context, backoff: Backoff
) -> None:
    """Write `batch` through `step`, retrying with back-off until it succeeds."""
    delay, failures = backoff.initial_s, 0
    while batch.has_values():  # a batch of refused records only has nothing to write
        try:
            with metrics.HANDLE_SECONDS.labels(ctx.group).time():
                await step.write(batch)
            return
        except Exception as exc:
            failures += 1
            metrics.HANDLER_RETRIES.labels(ctx.group).inc()
            log.warning(
                "consumer.write_failed",
                group=ctx.group,
                weight=batch.weight,
                attempt=failures,
                error=repr(exc),
            )
            if failures == 1:
                for record, error in batch.rebuild(step.recheck):
                    ctx.dead_letters.put(record, error)
        await asyncio.sleep(delay)
        delay = backoff.next(delay)
