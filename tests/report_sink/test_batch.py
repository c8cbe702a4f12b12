"""A pending ClickHouse batch ages from its first record, also on a freshly booted machine.

The sink flushes a batch once it is `batch_max_seconds` old; its age is measured on the
monotonic clock, pinned here near zero as right after a boot.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

from services.report_sink import batch as batch_module
from services.report_sink.batch import PendingBatch
from shared.contracts.base import encode
from tests.clock import BootClock
from tests.report_sink.helpers import batches, sends


def _record(offset: int) -> SimpleNamespace:
    campaign = uuid.uuid4()
    [message] = batches(sends(uuid.uuid4(), campaign, 2), per_message=2)
    return SimpleNamespace(offset=offset, value=encode(message))


def test_pending_batch_ages_from_first_record_on_fresh_boot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = BootClock(0.25)
    monkeypatch.setattr(batch_module, "time", SimpleNamespace(monotonic=clock))
    pending = PendingBatch()
    assert pending.age() == 0.0
    tp = TopicPartition("events", 0)
    assert pending.add(tp, [_record(0)]) == []
    assert pending.age() == 0.0
    clock.advance(1.5)
    pending.add(tp, [_record(1)])  # a later poll does not restart the age
    clock.advance(0.5)
    assert pending.age() == 2.0
