"""`fanout clickhouse cluster-ddl --out DIR`: write or check the cluster DDL in a folder.

The DDL is generated from report_sink's migrations (services/report_sink/cluster.py) and
not committed: the helm chart applies it with `services.report_sink.migrate --cluster`;
this command writes it out for review or for applying by other means.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from fanout_cli.output import fail, say
from services.report_sink.cluster import ClusterDDLError, cluster_ddl

clickhouse_app = typer.Typer(help="The ClickHouse schema for a cluster.", no_args_is_help=True)
_MIGRATION_FILE = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


def stale_files(out: Path, files: dict[str, str]) -> list[str]:
    """Names in `out` that differ from `files`, are missing, or are left over."""
    on_disk = {p.name for p in out.glob("*.sql") if _MIGRATION_FILE.match(p.name)}
    differ = [n for n, t in files.items() if not (out / n).exists() or (out / n).read_text() != t]
    return sorted(set(differ) | (on_disk - set(files)))


@clickhouse_app.command("cluster-ddl")
def cluster_ddl_command(
    out: Annotated[Path, typer.Option(help="Folder of the cluster migrations.")],
    check: Annotated[
        bool, typer.Option(help="Write nothing; exit 1 if the folder is not up to date.")
    ] = False,
) -> None:
    """Generate the replicated/distributed DDL from report_sink's single-node migrations."""
    try:
        files = cluster_ddl()
    except ClusterDDLError as exc:
        raise fail(str(exc)) from None
    stale = stale_files(out, files)
    if check:
        if stale:
            raise fail(f"{out} is stale ({', '.join(stale)}); run it without --check")
        say(f"{out} is up to date")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        if name in files:
            (out / name).write_text(files[name])
            say(f"wrote {out / name}")
        else:
            (out / name).unlink()
            say(f"removed {out / name} (no such single-node migration)")
    if not stale:
        say(f"{out} is up to date")
