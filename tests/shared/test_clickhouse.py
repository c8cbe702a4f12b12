"""The embedded ClickHouse engine (chDB) keeps its data on disk across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.clickhouse
REPO = Path(__file__).resolve().parents[2]

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


def _python(code: str, folder: Path) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_chdb_table_survives_process_restart(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    assert _python(WRITE, folder) == "1000"
    assert _python(READ, folder) == f"1000 {sum(range(1000))} 1"
