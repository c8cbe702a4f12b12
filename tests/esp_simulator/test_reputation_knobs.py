"""The simulator's reputation behaviours on pinned clocks: a receiving domain deferring mail
above its rate (421 4.7.28) while other domains go through, per-domain counts, and a list
whose complaint rate spikes after N accepted messages."""

from __future__ import annotations

import uuid

from services.esp_simulator.config import Settings
from services.esp_simulator.engine import CallRefused, Simulator
from services.esp_simulator.protocol import BulkRequest, MessageResult
from shared.simulator_status import MessageStatus
from tests.clock import BootClock
from tests.esp_simulator.helpers import bulk, message


def _request(domains: list[str]) -> BulkRequest:
    tag = uuid.uuid4().hex
    messages = [message(i, tag=tag, to=f"u{i}-{tag[:6]}@{d}") for i, d in enumerate(domains)]
    return BulkRequest.model_validate(bulk(messages))


async def _send(simulator: Simulator, domains: list[str]) -> list[MessageResult]:
    answered = await simulator.send(_request(domains))
    assert not isinstance(answered, CallRefused)
    return answered


async def test_a_domain_over_its_rate_defers_with_a_rate_limit_code_and_others_go_through() -> None:
    clock, wall = BootClock(), BootClock(start=1_700_000_000.0)
    limits = {"gmail.com": 100.0}
    knobs = Settings(webhook_url="", seed=3, domain_rate_limits=limits, rate_burst_s=0.4)
    simulator = Simulator(knobs, clock=clock, wall=wall)
    results = await _send(simulator, ["gmail.com"] * 45 + ["example.org"] * 5)
    gmail = results[:45]
    assert [r.status for r in gmail].count(MessageStatus.ACCEPTED) == 40  # bucket of 0.4 s
    deferred = [r for r in gmail if r.status is MessageStatus.THROTTLED]
    assert len(deferred) == 5 and all("421 4.7.28 gmail.com" in r.reason for r in deferred)
    assert {r.status for r in results[45:]} == {MessageStatus.ACCEPTED}
    others = await _send(simulator, ["example.org"] * 50)  # never limited
    assert {r.status for r in others} == {MessageStatus.ACCEPTED}
    clock.advance(0.25)  # 25 more tokens
    again = await _send(simulator, ["gmail.com"] * 30)
    assert [r.status for r in again].count(MessageStatus.ACCEPTED) == 25
    counts = simulator.snapshot().domains
    assert (counts["gmail.com"].accepted, counts["gmail.com"].deferred) == (65, 10)
    assert counts["example.org"].accepted == 55 and counts["example.org"].deferred == 0
    assert counts["gmail.com"].peak_accepted_per_s == 65  # the wall clock never moved
    assert simulator.counters.throttled == 10


async def test_complaints_spike_after_n_accepted_messages() -> None:
    knobs = Settings(
        webhook_url="",
        seed=5,
        complaint_rate=0.0,
        complaint_spike_after=100,
        complaint_spike_rate=1.0,
    )
    simulator = Simulator(knobs, clock=BootClock())
    await _send(simulator, ["example.org"] * 50)
    await _send(simulator, ["example.org"] * 50)
    assert simulator.counters.outcomes.complained == 0
    await _send(simulator, ["example.org"] * 50)
    assert simulator.counters.outcomes.complained == 50
    simulator.reset()  # counted again from the reset
    await _send(simulator, ["example.org"] * 50)
    assert simulator.counters.outcomes.complained == 0
