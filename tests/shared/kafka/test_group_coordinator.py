"""A new broker is ready for consumer groups once `wait_for_group_coordinator` returns.

A broker's offsets topic is made on the first group look-up and loaded after; until then
every group request answers "coordinator not available". The stalled-campaign check
asks once with a short timeout, so on a stack started moments before it said `unknown`
where `no_consumer` was the answer (seen when its test ran first on a new test stack).
`fanout stack up` now waits for the coordinator (`orchestrate._wait_for_kafka`).
"""

from __future__ import annotations

import pytest

from fanout_cli.stack.kafka import KafkaBroker
from services.campaign_api.campaigns.consumer_groups import ConsumerGroups
from shared.kafka.admin import wait_for_group_coordinator
from shared.settings import CommonSettings

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


async def test_a_new_broker_answers_group_looks_once_its_coordinator_is_waited_for(
    broker: KafkaBroker, base_settings: CommonSettings
) -> None:
    common = base_settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
    # The first look at a broker that has never seen a group: it makes the offsets topic
    # and answers "not available" (what the stalled-campaign check reported as unknown).
    early = await ConsumerGroups(common, ttl_s=60, timeout_s=2.0).look("g", "t")
    assert early.error is not None and "CoordinatorNotAvailable" in early.error

    await wait_for_group_coordinator(common, timeout_s=120)

    # Right after the wait, a one-off look at any group succeeds (a fresh cache each).
    for group in ("fanout-sender", "fanout-lead-resolver", "x.fanout-sender"):
        look = await ConsumerGroups(common, ttl_s=60, timeout_s=2.0).look(group, "t")
        assert look.error is None, (group, look.error)
        assert (look.members, look.lag) == (0, None)
