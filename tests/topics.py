"""Each test's own Kafka topics, made and removed through one admin client for the session.

A test's topics (a unique prefix) are created when it starts and retired when it ends;
retired topics are deleted in batches, so the broker never holds more than a few tests'
worth. An admin client of its own per test (connect, metadata, list, then create; and the
same again to delete) cost about half a second a test on a loaded machine, one shared
client and batched deletes under a tenth of that (`topics_created` in the commit that
brought this).
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

RETIRE_BATCH = 60  # topics waiting to be deleted at most (a root `settings` test has 6)


class TestTopics:
    """Creates tests' topics and deletes retired ones in batches, on one admin client."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, admin: AIOKafkaAdminClient) -> None:
        self._admin = admin
        self._retired: list[str] = []

    async def create(self, topics: list[tuple[str, int]]) -> None:
        """Create `topics` ((name, partitions), one replica), new names all; fail naming
        any the broker refused."""
        response = await self._admin.create_topics(
            [NewTopic(name, parts, 1) for name, parts in topics]
        )
        refused = [error[:2] for error in response.topic_errors if error[1] != 0]
        assert not refused, f"topics not created (name, Kafka error code): {refused}"

    async def retire(self, names: list[str]) -> None:
        """`names` are no longer used: deleted with the next batch."""
        self._retired += names
        if len(self._retired) >= RETIRE_BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Delete every retired topic now."""
        doomed, self._retired = self._retired, []
        if doomed:
            await self._admin.delete_topics(doomed)
