"""The cluster DDL is generated from report_sink's migrations, and the committed files match."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout_cli.clickhouse.cli import stale_files
from fanout_cli.clickhouse.cluster import ClusterDDLError, cluster_ddl
from fanout_cli.main import app
from services.report_sink.schema import split_statements

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "clickhouse" / "cluster"

NEW_TABLE = """\
CREATE TABLE IF NOT EXISTS opens
(
    campaign_id UUID,
    lead_id UUID,
    at DateTime('UTC'),
    INDEX idx_at at TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
ORDER BY (campaign_id, lead_id)
SETTINGS non_replicated_deduplication_window = 100;

CREATE TABLE IF NOT EXISTS opens_per_campaign
(
    campaign_id UUID,
    opens AggregateFunction(count)
)
ENGINE = AggregatingMergeTree
ORDER BY campaign_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS opens_mv TO opens_per_campaign AS
SELECT o.campaign_id, countState() AS opens
FROM opens AS o JOIN opens AS again ON o.lead_id = again.lead_id
GROUP BY o.campaign_id
"""


def test_committed_cluster_ddl_is_generated() -> None:
    stale = stale_files(DEPLOY, cluster_ddl())
    assert stale == [], f"{stale} differ from the generator's output: run `make cluster-ddl`"


def test_generate_cluster_ddl_for_a_new_migration(tmp_path: Path) -> None:
    (tmp_path / "0001_opens.sql").write_text(NEW_TABLE)
    [(name, text)] = cluster_ddl(tmp_path).items()
    assert name == "0001_opens.sql"
    local, per_campaign, view, distributed, distributed_agg = split_statements(text)
    assert local.startswith("CREATE TABLE IF NOT EXISTS opens_local ON CLUSTER '{cluster}'\n(")
    assert "INDEX idx_at at TYPE minmax GRANULARITY 1" in local
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/opens', '{replica}')"
        in local
    )
    assert "SETTINGS replicated_deduplication_window = 100" in local
    assert "ReplicatedAggregatingMergeTree(" in per_campaign
    assert view.startswith(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS opens_mv ON CLUSTER '{cluster}' "
        "TO opens_per_campaign_local AS"
    )
    assert "FROM opens_local AS o JOIN opens_local AS again" in view
    assert distributed.endswith("opens_local, cityHash64(campaign_id, lead_id))")
    assert distributed_agg.endswith("opens_per_campaign_local, cityHash64(campaign_id))")


def test_generate_cluster_ddl_for_a_new_view_query(tmp_path: Path) -> None:
    (tmp_path / "0001_opens.sql").write_text(NEW_TABLE)
    (tmp_path / "0002_opens_query.sql").write_text(
        "ALTER TABLE opens_mv MODIFY QUERY\nSELECT campaign_id, countState() AS opens\n"
        "FROM opens GROUP BY campaign_id"
    )
    [query] = split_statements(cluster_ddl(tmp_path)["0002_opens_query.sql"])
    assert query.startswith("ALTER TABLE opens_mv ON CLUSTER '{cluster}' MODIFY QUERY\nSELECT")
    assert "FROM opens_local GROUP BY campaign_id" in query


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("ALTER TABLE email_events ADD COLUMN x UInt8", "no cluster form for `ALTER TABLE"),
        ("CREATE TABLE IF NOT EXISTS t\n(\n    campaign_id UUID\n)\nENGINE = Memory", "MergeTree"),
        (
            "CREATE TABLE IF NOT EXISTS t\n(\n    id UUID\n)\nENGINE = MergeTree\nORDER BY id",
            "shard",
        ),
    ],
)
def test_refuse_migration_without_cluster_form(tmp_path: Path, sql: str, reason: str) -> None:
    (tmp_path / "0007_change.sql").write_text(sql)
    with pytest.raises(ClusterDDLError, match=reason):
        cluster_ddl(tmp_path)


def test_cluster_ddl_command_checks_and_writes(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "0099_dropped.sql").write_text("-- a migration that no longer exists\n")
    command = ["clickhouse", "cluster-ddl", "--out", str(tmp_path)]
    assert runner.invoke(app, [*command, "--check"]).exit_code == 1
    assert runner.invoke(app, command).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cluster_ddl())
    checked = runner.invoke(app, [*command, "--check"])
    assert checked.exit_code == 0, checked.output
