"""What the broker says about a consumer group: its members and how far behind it is.

The stalled-campaign answer (`campaigns.stalls`) asks whether the stage a campaign
waits on has anyone consuming. Asking costs a few broker round trips (find the
coordinator, describe the group; with members, its committed offsets and the topic's
end offsets), so each group is asked at most once per `ttl_s` whatever the request
rate: answers, failures included, are cached, and concurrent askers of one group
wait for the same look. Every look is bounded by `timeout_s`; a broker that does
not answer in time gives a look with `error` set, never an exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from cachetools import TTLCache

from shared.errors import DependencyUnavailable
from shared.kafka.admin import describe_group, open_admin
from shared.kafka.consumer import open_reader
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GroupLook:
    """One look at `group` consuming `topic` (`error` set when the broker was not asked)."""

    group: str
    topic: str
    members: int = 0
    lag: int | None = None  # records between the group's commits and the ends (with members)
    previous_lag: int | None = None  # the lag of the look before, if there was one
    error: str | None = None


class ConsumerGroups:
    """Cached, bounded looks at consumer groups on the broker of `common`."""

    def __init__(
        self,
        common: CommonSettings,
        *,
        ttl_s: float,
        timeout_s: float,
    ) -> None:
        self._common = common
        self._timeout = timeout_s
        self._looks: TTLCache[str, GroupLook] = TTLCache(maxsize=64, ttl=ttl_s)
        self._lags: dict[str, int] = {}  # the last lag seen per group: "growing" compares
        self._locks: dict[str, asyncio.Lock] = {}
        self.asked = 0  # looks that went to the broker (the rest came from the cache)

    async def look(self, group: str, topic: str) -> GroupLook:
        """`group` on `topic` as of at most `ttl_s` ago."""
        async with self._locks.setdefault(group, asyncio.Lock()):
            if (cached := self._looks.get(group)) is not None:
                return cached
            fresh = await self._ask(group, topic)
            self._looks[group] = fresh
            if fresh.lag is not None:
                self._lags[group] = fresh.lag
            return fresh

    async def _ask(self, group: str, topic: str) -> GroupLook:
        self.asked += 1
        try:
            async with asyncio.timeout(self._timeout):
                return await self._describe(group, topic)
        except TimeoutError:
            error = f"the broker did not answer within {self._timeout:g} s"
        except (DependencyUnavailable, KafkaError, OSError) as exc:
            error = f"the broker could not be asked: {exc}"
        log.warning("stalls.group_unknown", group=group, error=error)
        return GroupLook(group, topic, error=error)

    async def _describe(self, group: str, topic: str) -> GroupLook:
        request_ms = max(1, int(self._timeout * 1000))
        async with open_admin(self._common, request_timeout_ms=request_ms) as admin:
            described = await describe_group(admin, group)
            members = len(described["members"])
            if not members:
                return GroupLook(group, topic)
            lag = await self._lag(admin, group, topic, request_ms)
        return GroupLook(group, topic, members, lag, self._lags.get(group))

    async def _lag(
        self, admin: AIOKafkaAdminClient, group: str, topic: str, request_ms: int
    ) -> int:
        """Records of `topic` past `group`'s commits, summed over the topic's partitions."""
        [meta] = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in meta["partitions"]]
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        async with open_reader(self._common, request_ms) as reader:
            ends: dict[TopicPartition, int] = await reader.end_offsets(partitions)
        done = {tp: max(0, meta_.offset) for tp, meta_ in committed.items()}
        return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())
