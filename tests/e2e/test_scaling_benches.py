"""Two instances of webhook_ingest and of lead_resolver on the running stack, through the
benchmarks that measure them (`fanout bench webhook-flood`, `fanout bench resolvers`) at
tiny sizes: the figures are not asserted (docs/benchmarks.md has them), what the
benchmarks reconcile is.

- webhook_ingest: two instances, each on its own port, share a flood of signed webhooks
  round-robin; each accepts its share (by its own /metrics) and every posted event is on
  `email.events`, none missing, none unknown.
- lead_resolver: two instances share the partitions of `campaign.launches` (disjoint,
  covering the topic), each resolves the campaigns of its partitions, every lead is in
  exactly one batch on `email.sends`, and every campaign completes with exactly one
  outcome per lead by its row, the reports and the simulator, with no duplicate send.

The benchmarks restart those services and leave one instance of each with the stack's
own settings (and the simulator's knobs as they were).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse]


def _bench(out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["bench", *args, "--rounds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [written] = out.glob("*.json")
    assert list(out.glob("*.png"))
    return dict(json.loads(written.read_text()))


@pytest.mark.usefixtures("stack")
def test_two_webhook_ingest_instances_share_a_flood(tmp_path: Path) -> None:
    data = _bench(
        tmp_path,
        "webhook-flood",
        *("--instances", "2", "--events", "400", "--events-per-post", "20", "--linger-ms", "5"),
    )
    [step] = data["steps"]
    counted = step["reconciliation"]
    assert counted["passed"] is True
    assert counted["posted"] == counted["on_topic"] == 400
    assert counted["missing"] == counted["unknown"] == 0
    shares = step["per_instance"]
    assert set(shares) == {"webhook-ingest", "webhook-ingest-2"}
    assert [s["sent_events"] for s in shares.values()] == [200, 200]
    assert all(s["metrics_emitted"] == s["sent_events"] for s in shares.values())
    assert data["load_average_at_end"] is not None


@pytest.mark.usefixtures("stack")
def test_two_lead_resolvers_share_partitions_and_complete_campaigns(tmp_path: Path) -> None:
    data = _bench(tmp_path, "resolvers", "--instances", "2", "--campaigns", "2", "--leads", "200")
    [step] = data["steps"]
    assert step["reconciliation"]["passed"] is True, step["reconciliation"]["reasons"]
    owned = step["partitions"]
    assert set(owned) == {"lead-resolver", "lead-resolver-2"}
    assert all(owned.values())
    assert sorted(p for partitions in owned.values() for p in partitions) == list(range(6))
    campaigns = step["campaigns"]
    assert {c["resolved_by"] for c in campaigns} == set(owned)
    assert all(c["resolved_by"] == c["owner"] for c in campaigns)
    assert all(c["completed_s"] is not None for c in campaigns)
    assert [c["sends"]["leads"] for c in campaigns] == [200, 200]
    assert all(c["sends"]["leads_in_two_batches"] == 0 for c in campaigns)
    assert step["leads_resolved_by_instance"] == {"lead-resolver": 200, "lead-resolver-2": 200}
    verdict = step["reconciliation"]["verdict"]
    assert [v["outcomes"]["sent"] for v in verdict["campaigns"]] == [200, 200]
    assert [v["duplicates"] for v in verdict["campaigns"]] == [0, 0]
    assert verdict["simulator_counters"] == {"unique": 400, "duplicates": 0}
