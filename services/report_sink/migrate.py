"""`python -m services.report_sink.migrate [--cluster] [--dir DIR]`.

Applies the ClickHouse migrations to the configured ClickHouse (FANOUT_CLICKHOUSE_URL,
or the embedded chDB folder while report_sink is stopped) and prints what it applied.
`--cluster` applies their replicated/distributed form (`cluster.py`), generated from the
same files at run time. report_sink also applies its single-node migrations at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.report_sink.cluster import ClusterDDLError, cluster_migrations
from services.report_sink.schema import MIGRATIONS_DIR, load_migrations, migrate
from shared.clickhouse import AsyncClickHouse, connect
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings


async def _run(directory: Path, cluster: bool) -> list[int]:
    migrations = cluster_migrations(directory) if cluster else load_migrations(directory)
    ch = AsyncClickHouse(connect(CommonSettings()))
    try:
        return await migrate(ch, migrations=migrations)
    finally:
        ch.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=MIGRATIONS_DIR, help="Migrations folder.")
    parser.add_argument(
        "--cluster", action="store_true", help="Apply the replicated/distributed form."
    )
    args = parser.parse_args()
    try:
        applied = asyncio.run(_run(args.dir, args.cluster))
    except ClusterDDLError as exc:
        sys.stderr.write(f"cannot migrate: {exc}\n")
        sys.exit(1)
    except DependencyUnavailable as exc:
        sys.stderr.write(f"cannot migrate: {exc}\n")
        sys.exit(2)
    sys.stdout.write(f"applied: {applied or 'nothing (up to date)'}\n")


if __name__ == "__main__":
    main()
