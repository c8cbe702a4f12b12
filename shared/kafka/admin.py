"""Topic creation, the fail-fast broker check and the probe a consumer's watchdog uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code

from shared.errors import DependencyUnavailable
from shared.kafka import kafka_unreachable
from shared.settings import CommonSettings
from shared.topics import all_topic_names

log = structlog.get_logger(__name__)


async def _admin(common: CommonSettings, request_timeout_ms: int = 10_000) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=common.kafka_bootstrap_servers, request_timeout_ms=request_timeout_ms
    )
    try:
        await admin.start()
    except (KafkaConnectionError, KafkaError, OSError) as exc:
        await admin.close()
        raise kafka_unreachable(common.kafka_bootstrap_servers, str(exc)) from exc
    except asyncio.CancelledError:  # the caller's timeout: leave no connection behind
        await admin.close()
        raise
    return admin


@asynccontextmanager
async def open_admin(
    common: CommonSettings, request_timeout_ms: int = 10_000
) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client for the block, each request waiting at most
    `request_timeout_ms`; `DependencyUnavailable` when the broker is down."""
    admin = await _admin(common, request_timeout_ms)
    try:
        yield admin
    finally:
        await admin.close()


async def check_kafka(common: CommonSettings) -> list[str]:
    """The broker's topic names; raises `DependencyUnavailable` when it does not answer."""
    admin = await _admin(common)
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


async def require_topic(common: CommonSettings, topic: str) -> None:
    """Start-up's check that the broker answers and has `topic` (a consumer's, say):
    `DependencyUnavailable` naming the setting and the remedy otherwise."""
    if topic not in await check_kafka(common):
        raise DependencyUnavailable(
            f"Kafka topic {topic} does not exist",
            setting="FANOUT_TOPIC_PREFIX",
            remedy="create the topics with `fanout stack up`",
        )


async def broker_answers(common: CommonSettings, timeout_s: float = 15.0) -> bool:
    """True when the broker answers a metadata request (listing topics) within `timeout_s`."""
    try:
        await asyncio.wait_for(check_kafka(common), timeout_s)
    except (DependencyUnavailable, KafkaError, OSError, TimeoutError):
        return False
    return True


async def ensure_topics(
    common: CommonSettings, topics: list[tuple[str, int]] | None = None
) -> list[str]:
    """Create the missing topics (default: every topic of the registry). Returns those created."""
    wanted = topics if topics is not None else all_topic_names(common.topic_prefix)
    admin = await _admin(common)
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, parts, 1) for name, parts in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("kafka.topics_raced")
        created = [t.name for t in missing]
        if created:
            log.info("kafka.topics_created", topics=created)
        return created
    finally:
        await admin.close()


async def delete_topics(common: CommonSettings, names: list[str]) -> None:
    """Delete topics (tests clean up after themselves; a broker's partitions cost memory)."""
    admin = await _admin(common)
    try:
        existing = set(await admin.list_topics())
        doomed = [name for name in names if name in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def describe_group(admin: AIOKafkaAdminClient, group: str) -> dict[str, Any]:
    """The broker's description of `group` (its members, state); the group's error as a
    `KafkaError` (e.g. its coordinator is not available or still loading the group)."""
    [answer] = await admin.describe_consumer_groups([group])
    [described] = answer.to_object()["groups"]
    if described["error_code"]:
        raise for_code(described["error_code"])(f"describing group {group}")
    return cast(dict[str, Any], described)


READINESS_GROUP = "fanout-readiness-probe"


async def wait_for_group_coordinator(common: CommonSettings, timeout_s: float = 60.0) -> None:
    """Return once the broker coordinates consumer groups.

    A new broker has no offsets topic: the first group look-up creates it, and until its
    partitions are loaded every group request answers "coordinator not available" (a
    consumer retries; a one-off look such as the stalled-campaign check gives up). So a
    stack is ready once a probe group can be described. `DependencyUnavailable` after
    `timeout_s`, with the broker's last answer."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last = "no answer"
    async with open_admin(common, request_timeout_ms=5_000) as admin:
        while True:
            try:
                await describe_group(admin, READINESS_GROUP)
                return
            except KafkaError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if asyncio.get_running_loop().time() >= deadline:
                raise kafka_unreachable(
                    common.kafka_bootstrap_servers,
                    f"no group coordinator after {timeout_s:g} s ({last})",
                )
            await asyncio.sleep(0.2)
