"""`fanout bench --leads 100000` as a smoke test: it completes and every lead has an outcome.

The figures themselves are not asserted (they belong in docs/benchmarks.md); this
proves the benchmark runs on the real stack and that its campaigns lose nothing. It runs
the end-to-end campaigns of N/10 and N = 100,000 leads, and every other stage small: no
second N-lead campaign with ESP latency (the same path, only slower), the classic table
and Fanout's event log grown by 10,000 emails in two slices (report_sink stopped and
started for each), five samples of each report
query. The full run (`make bench`) keeps them all at size.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.orchestrate import stop_services
from fanout_cli.testrun.stack import SuiteStack

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse]
RUN_TIMEOUT_S = 900  # the benchmark's own limit; pytest's (below) leaves time to stop services
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_bench_smoke_every_lead_has_an_outcome(tmp_path: Path, suite_stack: SuiteStack) -> None:
    home = suite_stack.home
    running_before = {s.name for s in SERVICES if s.process(home).pid() is not None}
    try:
        result = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "fanout_cli.main",
                "bench",
                "--leads",
                "100000",
                "--no-latency-run",
                "--ingest-emails",
                "10000",
                "--ingest-slices",
                "2",
                "--report-samples",
                "5",
                "--out",
                str(tmp_path),
            ],
            cwd=REPO,
            env={  # its own database and topics: a campaign it leaves unfinished stays its own
                **suite_stack.environment(os.environ),
                "FANOUT_DATABASE_URL": suite_stack.database_url_of("fanout_bench"),
                "FANOUT_TOPIC_PREFIX": "bench.",
            },
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    finally:
        started = [s for s in SERVICES if s.name not in running_before]
        stop_services(suite_stack.settings(), started, lambda _: None)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [report] = tmp_path.glob("*.json")
    data = json.loads(report.read_text())
    assert [run["leads"] for run in data["e2e"]] == [10_000, 100_000]
    for run in data["e2e"]:
        assert run["matched"] == run["leads"]
        assert run["outcomes_reported"] == run["matched"]
        assert run["every_lead_has_outcome"] is True
        assert run["completed_s"] is not None  # seen completed, not only reported
    # what ClickHouse held at each launch: the second run's count includes the first's events
    first, second = (run["stored_events_before"] for run in data["e2e"])
    assert first is not None and second is not None
    assert second >= first + 10_000
    # the broker's counters were read (JMX) and each byte of the sends was fetched once:
    # the sender's consumer had read them 5-33 times over (bench/results/...-kafka-refetch)
    sends = data["e2e"][-1]["broker"]["topics"]["bench.email.sends"]
    assert sends["records_in"] >= 100_000 / 50
    assert sends["bytes_out"] <= 1.25 * sends["bytes_in"], sends
    # and its JIT compiler threads' CPU, part of Kafka's (a broker compiles as load comes)
    jit = [run["broker"]["jit_cpu_s"] for run in data["e2e"]]
    assert all(
        s is not None and 0 <= s <= run["processes"]["kafka"]["cpu_s"] + 0.1
        for s, run in zip(jit, data["e2e"], strict=True)
    ), jit
    fanout = data["fanout"]
    assert len(data["classic"]["slices"]) == len(fanout["slices"]) == len(fanout["paced"]) == 2
    assert fanout["producers"] == 2 and len(fanout["produce_per_s"]) == 2
    # every event produced became visible: each slice's rows follow on from the last one's
    grown = [
        (s["rows_before"], s["rows_after"])
        for p in zip(fanout["slices"], fanout["paced"], strict=True)
        for s in p
    ]
    assert all(after == before for (_, after), (before, _) in zip(grown, grown[1:], strict=False))
    assert grown[-1][1] - grown[0][0] >= 10_000
    assert all(s["rows_per_s"] > 0 for s in fanout["slices"] + fanout["paced"])
    assert {latency["count"] for latency in data["reports"].values()} == {5}
    assert list(tmp_path.glob("*.md")) and list(tmp_path.glob("*.png"))
    # each campaign's account was deleted and its dead rows vacuumed before the next run,
    # not left to autovacuum during it (charged to that run's PostgreSQL CPU)
    assert _manual_vacuums_of_leads(suite_stack.database_url_of("fanout_bench")) >= 2


def _manual_vacuums_of_leads(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            found: int = await conn.fetchval(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'leads'"
            )
            return found
        finally:
            await conn.close()

    return asyncio.run(count())
