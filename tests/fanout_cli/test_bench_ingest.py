"""`fanout bench`'s ingest load: producer processes that are not the bottleneck, and the
sink's rate taken between the first insert visible and the one before the last.

The producers run against the suite's real broker (spawned processes, each with its own
share and seed); what they put on `email.events` is read back and checked as the sink
would see it; the paced producer keeps to its rate. The rate rule is a property over
sampled drains; the reads counted as "while paced" are those that began in the producer's
window; a read the API key's rate limit refuses is waited out and made again, untimed.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from hypothesis import assume, given
from hypothesis import strategies as st

from fanout_cli.bench.classic import CAMPAIGNS_PER_USER, USERS
from fanout_cli.bench.ingest import (
    BenchAccount,
    Reports,
    create_bench_account,
    drain_rate,
    produce_in_parallel,
    reads_within,
    until_all_rate,
)
from fanout_cli.bench.stats import latency_summary
from fanout_cli.topic_reading import records_since
from shared.auth import check_key
from shared.contracts.base import decode
from shared.contracts.events import EventBatch, EventType
from shared.http.problems import install_problem_handlers
from shared.http.rate_limits import enforce_rate_limit, install_rate_limits
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name


async def test_producer_processes_put_every_event_once(settings: CommonSettings) -> None:
    campaigns = [uuid.uuid4() for _ in range(USERS * CAMPAIGNS_PER_USER)]
    bench = BenchAccount(uuid.uuid4(), "unused", campaigns)

    filled = await asyncio.to_thread(produce_in_parallel, settings, bench, 2_051, 5, 2)
    produced = filled.events
    assert filled.began < filled.ended

    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    events = [
        event
        async for record in records_since(settings, topic, {})
        for event in decode(EventBatch, record.value).events
    ]
    assert len(events) == produced
    sent = [e for e in events if e.type is EventType.SENT]
    bounced = [e for e in events if e.type is EventType.BOUNCED]
    # two shares, 1,026 and 1,025 sends, each in batches of 50 with a short last one
    assert len(sent) == 2_051
    assert len(sent) + len(bounced) == produced
    assert len({e.event_id for e in events}) == produced  # no event twice, none shared
    assert {e.lead_id for e in bounced} <= {e.lead_id for e in sent}
    assert {e.account_id for e in events} == {bench.account_id}
    assert {e.campaign_id for e in events} <= set(campaigns)


def _sampled_drain(
    startup: float, rate: float, target: int, insert: int, step: float, wait: float = 0.0
) -> list[tuple[float, int]]:
    """Samples every `step` s of a sink that starts after `startup` s and makes events
    visible an insert of `insert` events at a time, each once it has worked through it at
    `rate` events/s; what is left after the whole inserts is a part-full one, visible
    `wait` s after the sink worked through it (the batch's wait for more events)."""
    samples: list[tuple[float, int]] = []
    whole = insert * (target // insert)
    t = 0.0
    while True:
        worked = max(0.0, (t - startup) * rate)
        visible = min(whole, insert * int(worked // insert))
        if worked >= target and t >= startup + target / rate + wait:
            visible = target
        samples.append((t, visible))
        if visible >= target:
            return samples
        t += step


@given(
    startup=st.floats(0.0, 30.0),
    rate=st.floats(1_000.0, 500_000.0),
    target=st.integers(1_000, 2_000_000),
    inserts=st.integers(3, 200),
    wait=st.floats(0.0, 5.0),
)
def test_the_rate_is_the_sinks_between_its_first_and_last_inserts(
    startup: float, rate: float, target: int, inserts: int, wait: float
) -> None:
    """Start-up, the first inserts seen and the last one's wait leave the rate as it is:
    the events between the first sample that saw any and the last whole insert, over
    their time to within a sample at either end."""
    step = 0.1
    insert = -(-target // inserts)  # the slice spans at least three inserts
    samples = _sampled_drain(startup, rate, target, insert, step, wait)
    seen = next(n for _, n in samples if n > 0)
    whole = target - (target - insert * ((target - 1) // insert))  # before the last insert
    counted = whole - seen
    assume(counted > 0 and seen < target)
    span = counted / rate
    assume(span > 4 * step)
    measured = drain_rate(samples, target)
    assert rate * span / (span + step) <= measured * (1 + 1e-9)
    assert measured <= rate * span / (span - step) * (1 + 1e-9)


def test_the_first_insert_is_not_credited_to_the_span() -> None:
    # 10 inserts of 50,000 at 100,000 events/s: 0.5 s each, the first visible at 0.5 s
    samples = _sampled_drain(0.0, 100_000.0, 500_000, 50_000, 0.05)
    assert drain_rate(samples, 500_000) == pytest.approx(100_000.0, rel=0.02)
    # all 500,000 over the 4.5 s after the first jump would read 111,111/s


def test_the_last_part_full_inserts_wait_is_not_the_sinks_rate() -> None:
    # 14 inserts of 50,000 and one of 14,000 at 200,000 events/s, the last seen 1 s after
    # the sink worked through it (a 714,000-event slice of the benchmark)
    samples = _sampled_drain(0.5, 200_000.0, 714_000, 50_000, 0.05, wait=1.0)
    assert drain_rate(samples, 714_000) == pytest.approx(200_000.0, rel=0.03)
    # until every event was visible: the 664,000 after the first insert over the 3.32 s
    # the sink worked on them and the 1 s wait
    assert until_all_rate(samples, 714_000) == pytest.approx(664_000 / 4.32, rel=0.03)


def test_two_jumps_fall_back_to_the_time_until_all_are_visible() -> None:
    samples = [(0.0, 0), (0.1, 50), (0.2, 50), (0.3, 80)]
    assert drain_rate(samples, 80) == until_all_rate(samples, 80) == pytest.approx(30 / 0.2)


def test_one_jump_is_a_bound_over_half_a_sample() -> None:
    assert drain_rate([(0.0, 0), (0.1, 0), (0.2, 30)], 30) == pytest.approx(30 / 0.05)
    assert until_all_rate([(0.0, 0), (0.1, 0), (0.2, 30)], 30) == pytest.approx(30 / 0.05)


def test_the_rate_refuses_samples_that_never_reach_the_target() -> None:
    with pytest.raises(ValueError, match="do not reach"):
        drain_rate([(0.0, 0), (0.1, 10), (0.2, 20)], 30)
    with pytest.raises(ValueError, match="do not reach"):
        drain_rate([(0.0, 0), (0.1, 0)], 30)
    with pytest.raises(ValueError, match="do not reach"):
        until_all_rate([(0.0, 0), (0.1, 10)], 30)


async def test_a_paced_producer_process_keeps_to_its_rate(settings: CommonSettings) -> None:
    campaigns = [uuid.uuid4() for _ in range(USERS * CAMPAIGNS_PER_USER)]
    bench = BenchAccount(uuid.uuid4(), "unused", campaigns)
    rate = 5_000.0

    done = await asyncio.to_thread(produce_in_parallel, settings, bench, 2_500, 9, 1, rate)

    # unpaced, one producer sends this in a few hundredths of a second; paced, the last
    # send waits until the events before it are due: at least (events - last value) / rate
    assert done.events >= 2_500
    assert done.ended - done.began >= (done.events - 50) / rate


@given(
    reads=st.lists(
        st.tuples(st.floats(0.0, 100.0), st.floats(0.1, 5_000.0)), min_size=0, max_size=40
    ),
    window=st.tuples(st.floats(0.0, 100.0), st.floats(0.0, 100.0)).map(sorted),
)
def test_reads_while_paced_are_those_that_began_in_the_window(
    reads: list[tuple[float, float]], window: list[float]
) -> None:
    began, ended = window
    measured = reads_within({"funnel": reads, "recipients": reads[::-1]}, began, ended)

    inside = [ms for at, ms in reads if began <= at <= ended]
    assert measured["funnel"] == latency_summary(inside)
    assert measured["recipients"] == latency_summary(inside[::-1])
    assert measured["funnel"].count == len(inside)


async def test_reads_over_the_keys_rate_limit_wait_it_out_untimed() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    install_rate_limits(app, "2/second")
    answered: list[str] = []

    @app.get("/reports/{name}")
    async def report(name: str, request: Request) -> PlainTextResponse:
        await enforce_rate_limit(request, request.headers["Authorization"])
        answered.append(name)
        return PlainTextResponse(name * 1_000)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://reports") as client:
        reports = Reports("key", "unused", client)
        timings = [await reports.timed(f"/reports/r{n}") for n in range(5)]

    # two a second: the third and fifth reads are refused once each, then answered
    assert answered == [f"r{n}" for n in range(5)]
    assert reports.waited == 2
    assert all(ms < 900 for ms in timings)  # the second waited out is not in any timing


@pytest.mark.postgres
async def test_a_bench_account_has_its_key_and_campaign_rows(settings: CommonSettings) -> None:
    bench = await create_bench_account(settings, 10_000_000)

    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        assert (await check_key(pool, bench.api_key)).account_id == bench.account_id
        rows = await pool.fetch(
            "SELECT id, name, state, matched FROM campaigns WHERE account_id = $1",
            bench.account_id,
        )
        name = await pool.fetchval("SELECT name FROM accounts WHERE id = $1", bench.account_id)
        await pool.execute("DELETE FROM accounts WHERE id = $1", bench.account_id)
    finally:
        await pool.close()
    assert name == "bench ingest"  # what the full run deletes at its end
    assert len(bench.campaigns) == USERS * CAMPAIGNS_PER_USER
    assert {r["id"] for r in rows} == set(bench.campaigns)
    # completed, each with its share of the workload's emails as a resolved campaign has
    assert {(r["state"], r["matched"]) for r in rows} == {("completed", 10_000)}
