"""No SQL outside `shared/campaigns/` sets `campaigns.state`: every move goes through its writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.sources import ROOT, parse, python_files, string_literals
from tests.architecture.state_sql import sets_campaign_state

SCANNED = ("services", "shared", "fanout_cli", "bench")
WRITER = ROOT / "shared" / "campaigns"

SETS_STATE = [
    "UPDATE campaigns SET state = $2 WHERE id = $1",
    "update campaigns set updated_at = now(), STATE = 'paused' where id = $1",
    "UPDATE campaigns c SET sent = c.sent + 1, c.state = 'completed' FROM t WHERE c.id = t.id",
    'UPDATE ONLY public.campaigns AS c SET "state" = $2',
    "UPDATE campaigns SET (state, state_reason) = ($2, $3) WHERE id = $1",
    "WITH moved AS (UPDATE campaigns SET state = 'failed' RETURNING id) SELECT * FROM moved",
    "UPDATE campaigns SET resolve_done = true,\n  state = CASE WHEN state = 'resolving' "
    "THEN 'sending' ELSE state END WHERE id = $1",
    "INSERT INTO campaigns (id, state) VALUES ($1, $2) "
    "ON CONFLICT (id) DO UPDATE SET state = excluded.state",
]
READS_STATE = [
    "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE",
    "UPDATE campaigns SET sent = sent + $2 WHERE id = $1 AND state = 'sending'",
    "UPDATE campaigns SET state_reason = $2, updated_at = now() WHERE id = $1",
    "UPDATE campaigns SET updated_at = CASE WHEN state = 'x' THEN now() END RETURNING state",
    "UPDATE campaign_runs SET state = $2 WHERE id = $1",
    "UPDATE outbox SET sent_at = now() WHERE id IN (SELECT id FROM campaigns WHERE state = $1)",
    "INSERT INTO outbox (state) VALUES ($1) ON CONFLICT DO UPDATE SET state = excluded.state",
    "-- UPDATE campaigns SET state = 'x'\nSELECT 1",
    "the campaign's state is updated through shared.campaigns",
]


@pytest.mark.parametrize("sql", SETS_STATE)
def test_state_check_flags_sql_that_sets_state(sql: str) -> None:
    assert sets_campaign_state(sql)


@pytest.mark.parametrize("sql", READS_STATE)
def test_state_check_passes_sql_that_only_reads_state(sql: str) -> None:
    assert not sets_campaign_state(sql)


def state_writes(files: list[Path]) -> list[str]:
    """`path:line` of every string literal in `files` that sets campaigns.state."""
    found = {
        (path, line)
        for path in files
        for line, text in string_literals(parse(path))
        if sets_campaign_state(text)
    }
    return [f"{path}:{line}" for path, line in sorted(found)]


def test_state_check_finds_planted_literals_in_python(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "TABLE = 'campaigns'\n"
        'A = ("UPDATE campaigns SET state = $2 "\n     "WHERE id = $1")\n'
        'B = f"UPDATE {TABLE} SET sent = 1"\n'
        'C = f"UPDATE campaigns SET state = {TABLE!r} WHERE id = $1"\n'
        "D = 'SELECT state FROM campaigns'\n"
    )
    assert state_writes([planted]) == [f"{planted}:2", f"{planted}:5"]


def test_no_sql_sets_campaign_state_outside_shared_campaigns() -> None:
    files = [p for p in python_files(*SCANNED) if not p.is_relative_to(WRITER)]
    assert len(files) > 100  # the scan really reads the repository
    assert state_writes(files) == []
    writer = list(python_files("shared/campaigns"))
    assert len(state_writes(writer)) >= 3  # the writer's own statements are recognised
