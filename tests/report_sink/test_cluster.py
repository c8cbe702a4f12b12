"""The cluster DDL: generated from report_sink's migrations one for one, written by the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app
from services.report_sink.cluster import ClusterDDLError, cluster_ddl, cluster_migrations
from services.report_sink.schema import load_migrations, split_statements

_CREATED = re.compile(r"^CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", re.MULTILINE)
_BODY = re.compile(r"^\(\n.*?\n\)$", re.DOTALL | re.MULTILINE)

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


def test_every_single_node_migration_has_its_cluster_form() -> None:
    single, cluster = load_migrations(), cluster_migrations()
    assert [(m.version, m.name) for m in cluster] == [(m.version, m.name) for m in single]
    for node, replicated in zip(single, cluster, strict=True):
        node_sql, cluster_sql = "\n".join(node.statements), "\n".join(replicated.statements)
        for name in _CREATED.findall(node_sql):
            on_cluster = f"EXISTS {name} ON CLUSTER '{{cluster}}'"
            if f"{name}_local ON CLUSTER" in cluster_sql:  # a table: local + Distributed
                on_cluster += f" AS {name}_local\nENGINE = Distributed("
            assert on_cluster in cluster_sql, (node.version, name)
        # every column list is kept to the letter; backfills run as written
        assert _BODY.findall(node_sql) == _BODY.findall(cluster_sql), node.version
        backfills = [s for s in node.statements if s.startswith("INSERT INTO")]
        assert backfills == [s for s in replicated.statements if s.startswith("INSERT INTO")]


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


def test_cluster_ddl_command_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "0099_dropped.sql").write_text("-- a migration that no longer exists\n")
    command = ["clickhouse", "cluster-ddl", "--out", str(tmp_path)]
    assert runner.invoke(app, [*command, "--check"]).exit_code == 1
    assert runner.invoke(app, command).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cluster_ddl())
    checked = runner.invoke(app, [*command, "--check"])
    assert checked.exit_code == 0, checked.output
