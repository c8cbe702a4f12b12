"""`python -m services.report_sink.migrate [--dir deploy/clickhouse/cluster]`.

Applies the ClickHouse migrations to the configured ClickHouse (FANOUT_CLICKHOUSE_URL,
or the embedded chDB folder while report_sink is stopped) and prints what it applied.
report_sink also applies its migrations at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.report_sink.schema import MIGRATIONS_DIR, migrate
from shared.clickhouse import AsyncClickHouse, connect
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings


async def _run(directory: Path) -> list[int]:
    ch = AsyncClickHouse(connect(CommonSettings()))
    try:
        return await migrate(ch, directory)
    finally:
        ch.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=MIGRATIONS_DIR, help="Migrations folder.")
    args = parser.parse_args()
    try:
        applied = asyncio.run(_run(args.dir))
    except DependencyUnavailable as exc:
        sys.stderr.write(f"cannot migrate: {exc}\n")
        sys.exit(2)
    sys.stdout.write(f"applied: {applied or 'nothing (up to date)'}\n")


if __name__ == "__main__":
    main()
