"""Dead-letter topics (`<source>.dlq`): the original record plus why it was refused.

Key, producers and consumers are registered in shared/topics.py (docs/contracts.md).
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts.base import Message


class DeadLetter(Message):
    """A record a consumer could not process, kept whole for inspection and replay."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    error: str
    consumer_group: str
    failed_at: datetime
