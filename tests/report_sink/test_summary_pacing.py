"""The summary worker paces itself: a recompute of t seconds makes its campaigns wait at
least t / busy_share before their next, so recomputing large campaigns takes a bounded
share of the sink's time (docs/reports.md, "Campaign summary")."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from services.report_sink.summary import CampaignSummaries, paced_interval
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.events import EventType
from tests.events import event
from tests.report_sink.helpers import T0

seconds = st.floats(0.0, 1e5, allow_nan=False)
shares = st.floats(1e-4, 1.0, allow_nan=False)


@given(interval=st.floats(0.01, 3600, allow_nan=False), share=shares, elapsed=seconds)
def test_paced_interval_bounds_the_busy_share_and_keeps_the_floor(
    interval: float, share: float, elapsed: float
) -> None:
    paced = paced_interval(interval, share, elapsed)
    assert paced >= interval
    assert elapsed <= share * paced * (1 + 1e-9)  # busy at most `share` of the time
    if elapsed <= share * interval:  # a quick recompute keeps the configured interval
        assert paced == interval


def test_the_service_paces_by_default() -> None:
    assert 0 < Settings().summary_busy_share < 1


@pytest.mark.clickhouse
async def test_a_slow_recompute_holds_its_campaign_back(tmp_path: Path) -> None:
    """With time read 10,000 times faster than it runs, a real recompute of a few ms looks
    like tens of seconds: the campaign touched again right after is not recomputed."""

    def dilated() -> float:
        return time.monotonic() * 10_000

    ch = AsyncClickHouse(connect_embedded(tmp_path / "chdb"))
    try:
        await migrate(ch)
        account, campaign = uuid.uuid4(), uuid.uuid4()
        sends = [
            event(account, campaign, uuid.uuid4(), EventType.SENT, T0 + timedelta(seconds=n))
            for n in range(200)
        ]
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in sends)
        await EventWriter(ch).insert(body, "pacing")
        summaries = CampaignSummaries(ch, interval_s=1.0, clock=dilated, busy_share=0.01)

        summaries.touched([(str(account), str(campaign))])
        await summaries.recompute_due()  # the first sweep, then the campaign: due at once
        assert summaries.recomputed == 1
        paced = summaries.interval_s
        assert paced > 100 * 1.0  # a recompute of >= 1 ms reads as >= 10 s, / 0.01

        summaries.touched([(str(account), str(campaign))])
        await summaries.recompute_due()
        assert summaries.recomputed == 1, "recomputed again before its paced interval"
        listed = await queries.campaigns(ch, account, T0, T0 + timedelta(days=1), 10)
        assert listed[0]["sent"] == 200  # the one recompute it had counted every lead
    finally:
        ch.close()
