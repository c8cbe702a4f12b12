"""aiokafka's own codec functions on what Fanout's producers send, side by side.

A resolver produce request (20 send batches of 50 recipients) and one value of 50 outcome
events, compressed by each codec aiokafka offers (its lz4 is level 9, the only one the
producer uses); best of 5 repeats of 200 calls. Run from the repository root:
`.venv/bin/python bench/results/20261202T1815Z-kafka-codec/codec_bench.py`.
"""

from __future__ import annotations

import random
import sys
import timeit
import uuid
from collections.abc import Callable
from functools import partial

import orjson
from aiokafka import codec

from shared.contracts import Recipient, SendBatch, encode


def send_batch(number: int) -> bytes:
    merge_vars = {"first_name": "Ann", "last_name": "Lee", "country": "FR", "tags": ["a", "b"]}
    recipients = [
        Recipient(
            lead_id=uuid.uuid4(),
            email=f"lead{random.random()}@example.com",  # noqa: S311 - test data
            merge_vars={**merge_vars, "attributes": {"plan": "pro", "n": i}},
        )
        for i in range(50)
    ]
    batch = SendBatch(
        campaign_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        batch_no=number,
        recipients=recipients,
    )
    return encode(batch)


def events_value() -> bytes:
    event = {
        "account_id": str(uuid.uuid4()),
        "campaign_id": str(uuid.uuid4()),
        "type": "sent",
        "provider": "simulator",
        "reason": "",
        "bounce_type": None,
        "occurred_at": "2026-12-02T18:00:00.123456Z",
    }
    events = [
        {
            **event,
            "event_id": str(uuid.uuid4()),
            "lead_id": str(uuid.uuid4()),
            "email": f"l{i}@example.com",
            "provider_message_id": f"<{uuid.uuid4()}@x>",
        }
        for i in range(50)
    ]
    return orjson.dumps({"schema_version": 1, "events": events})


CODECS: dict[str, Callable[[bytes], bytes]] = {
    "lz4 level 9 (aiokafka's)": codec.lz4_encode,
    "lz4 level 0": partial(codec.lz4_encode, level=0),
    "zstd 3 (aiokafka's)": codec.zstd_encode,
    "zstd 1": partial(codec.zstd_encode, level=1),
    "snappy": codec.snappy_encode,
    "gzip": codec.gzip_encode,
}

for name, data in (
    ("resolver request, 20 send batches", b"".join(send_batch(n) for n in range(20))),
    ("value of 50 events", events_value()),
):
    sys.stdout.write(f"{name}: {len(data):,} bytes\n")
    for label, compress in CODECS.items():
        best = min(timeit.repeat(partial(compress, data), number=200, repeat=5)) / 200
        ratio = len(data) / len(compress(data))
        sys.stdout.write(
            f"  {label:26s} {best * 1e6:8.1f} µs {len(data) / best / 1e6:8.1f} MB/s"
            f"  ratio {ratio:.2f}\n"
        )
