"""A consumer process for the hard-kill test: records every event it handles in Postgres.

Run as `python -m tests.shared.probe_consumer` with PROBE_TABLE, PROBE_GROUP and
PROBE_MAX_RECORDS set; each handled event bumps its row's `attempts`.
"""

from __future__ import annotations

import asyncio
import os

import asyncpg

from shared.contracts.events import EventBatch
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.producer import make_producer
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.sequential import Record, Sequential
from shared.service import install_stop_signals
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name


async def main() -> None:
    settings = CommonSettings()
    table = os.environ["PROBE_TABLE"]
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    assert pool is not None
    producer = make_producer(settings)
    await producer.start()

    async def handle(records: list[Record[EventBatch]]) -> None:
        ids = [e.event_id for r in records for e in r.message.events]
        await pool.execute(
            f"INSERT INTO {table} (event_id, attempts) SELECT unnest($1::uuid[]), 1 "
            f"ON CONFLICT (event_id) DO UPDATE SET attempts = {table}.attempts + 1",
            ids,
        )
        await asyncio.sleep(0.05)  # a slow sink, so a kill lands mid-stream

    stop = asyncio.Event()
    install_stop_signals(stop)
    max_records = int(os.environ["PROBE_MAX_RECORDS"])
    runner = Runner(
        common=settings,
        group=os.environ["PROBE_GROUP"],
        topics=[topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)],
        strategy=lambda ctx: Sequential(ctx, model=EventBatch, handle=handle),
        producer=producer,
        # a commit after every handled poll: a kill repeats at most one poll's records
        options=RunnerOptions(
            consumer=ConsumerOptions(max_poll_records=max_records), commit_interval_s=0
        ),
    )
    try:
        await runner.run(stop)
    finally:
        await producer.stop()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
