"""The embedded ClickHouse engine (chDB) keeps its data on disk across processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.child_python import run_python

pytestmark = pytest.mark.clickhouse

WRITE = """
import sys
from pathlib import Path
from shared.clickhouse import connect_embedded
client = connect_embedded(Path(sys.argv[1]))
client.command(
    "CREATE TABLE IF NOT EXISTS probe (n UInt32, s String) ENGINE = MergeTree ORDER BY n"
)
client.insert("probe", [(i, f"row-{i}") for i in range(1000)], column_names=["n", "s"])
print(client.query("SELECT count() FROM probe").result_rows[0][0])
"""

READ = """
import sys
from pathlib import Path
from shared.clickhouse import connect_embedded
client = connect_embedded(Path(sys.argv[1]))
rows = client.query("SELECT count(), sum(n), any(s) LIKE 'row-%' FROM probe").result_rows
print(*rows[0])
"""


def test_chdb_table_survives_process_restart(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    assert run_python(WRITE, folder) == "1000"
    assert run_python(READ, folder) == f"1000 {sum(range(1000))} 1"
