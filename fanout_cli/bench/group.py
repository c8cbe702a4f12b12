"""The instances of one stage on the stack under test, as the scaling benchmarks drive them.

A benchmark restarts a stage with the instance count and environment of its step
(`fanout stack scale` underneath: instance k on port P + 10·(k − 1)), kills or adds one,
reads each instance's own `/metrics` (behind the operations token) and waits until the
stage's consumer group has handed every partition of its topic to the live instances.
Afterwards `restore` leaves one instance with the stack's own settings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import CONSUMED, Instance, known_instances
from fanout_cli.stack.orchestrate import Say
from fanout_cli.stack.secrets import known_secret
from services.lead_resolver.config import Settings as ResolverSettings
from services.sender.config import Settings as SenderSettings
from shared.settings import CommonSettings
from shared.topics import TOPIC_SPECS

GROUPS = {  # the consumer groups of the stages that consume a topic, without the prefix
    "sender": str(SenderSettings.model_fields["group_id"].default),
    "lead_resolver": str(ResolverSettings.model_fields["group_id"].default),
}


def partitions_of(module: str) -> int:
    """Partitions of the topic `module` consumes (0 for a service that consumes none)."""
    topic = CONSUMED.get(module)
    return next((s.partitions for s in TOPIC_SPECS if s.topic is topic), 0)


@dataclass(frozen=True)
class Sample:
    """One sample of a metric family: its name and the labels it must carry."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()


class Instances:
    """The live instances of one stage, its consumer group, and the clock of the run."""

    def __init__(
        self, common: CommonSettings, module: str, count: int, env: dict[str, str], say: Say
    ) -> None:
        self.common, self.say, self.env = common, say, env
        self.service = service_named(module)
        self.live = [Instance(self.service, n) for n in range(1, count + 1)]
        self.group = f"{common.topic_prefix}{GROUPS.get(module, '')}"
        self.partitions_total = partitions_of(module)
        self.auth = {"Authorization": f"Bearer {known_secret(common, 'ops_token') or ''}"}
        self.started = time.monotonic()

    def restart(self) -> None:
        """Every instance stopped, then the wanted ones started with the step's environment."""
        for instance in known_instances(self.service, self.common.home):
            instance.process(self.common.home).stop()
        orchestrate.scale_service(self.common, self.service, len(self.live), self.say, self.env)

    def kill_last(self) -> None:
        victim = self.live.pop()
        pid = victim.process(self.common.home).pid()
        if pid is None:
            raise StackError(f"{victim.name} is not running")
        os.kill(pid, signal.SIGKILL)
        self.say(f"killed {victim.name} (pid {pid}, SIGKILL)")

    def join(self) -> None:
        newcomer = Instance(self.service, max(i.number for i in self.live) + 1)
        orchestrate.up_instance(self.common, newcomer, self.say, self.env)
        self.live.append(newcomer)

    async def metric(self, client: httpx.AsyncClient, instance: Instance, sample: Sample) -> float:
        """`sample`'s value on `instance`'s /metrics (0 if absent, -1 if it does not answer)."""
        try:
            text = (await client.get(f"{instance.url}/metrics", headers=self.auth)).text
        except httpx.HTTPError:
            return -1.0
        wanted = dict(sample.labels)
        for family in text_string_to_metric_families(text):
            for found in family.samples:
                labels = {k: found.labels.get(k) for k in wanted}
                if found.name == sample.name and labels == wanted:
                    return float(found.value)
        return 0.0

    async def partitions(self, client: httpx.AsyncClient) -> list[int]:
        """Partitions of the group's topic each live instance holds (-1: no answer)."""
        held = Sample("fanout_assigned_partitions", (("group", self.group),))
        return [int(await self.metric(client, i, held)) for i in self.live]

    async def resplit(
        self, client: httpx.AsyncClient, since: float, timeout_s: float = 120
    ) -> float | None:
        """Seconds from `since` until the live instances hold every partition, each some."""
        while time.monotonic() - since < timeout_s:
            held = await self.partitions(client)
            if sum(held) == self.partitions_total and min(held) > 0:
                return time.monotonic() - since
            await asyncio.sleep(0.2)
        return None


def restore(common: CommonSettings, module: str, say: Say) -> None:
    """One instance of `module` with the stack's own settings again."""
    service = service_named(module)
    for instance in known_instances(service, common.home):
        instance.process(common.home).stop()
    orchestrate.scale_service(common, service, 1, say)
