"""PostgreSQL from Debian's packages: install if missing, one cluster under the stack home.

The cluster listens on 127.0.0.1 only and trusts loopback connections: it is
a development and test stack. Production points `FANOUT_DATABASE_URL` at a
managed server, and then none of this runs.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fanout_cli.stack.debian import apt_install
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.processes import port_open


@dataclass(frozen=True)
class PostgresTarget:
    """Where the local cluster lives and what the services connect to."""

    data_dir: Path
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_dsn(cls, dsn: str, home: Path) -> PostgresTarget:
        parts = urlsplit(dsn)
        return cls(
            data_dir=home / "postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "fanout",
            password=parts.password or "fanout",
            database=(parts.path or "/fanout").lstrip("/") or "fanout",
        )


def _bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ensure_installed(log: list[str]) -> Path:
    """The server binaries' folder, installing Debian's `postgresql` if it is missing."""
    bindir = _bindir()
    if bindir is not None:
        return bindir
    apt_install(["postgresql"], log, otherwise=" or set FANOUT_DATABASE_URL to an existing server")
    bindir = _bindir()
    if bindir is None:
        raise StackError("apt-get installed postgresql but no initdb was found")
    return bindir


def _as_owner(argv: list[str]) -> list[str]:
    """Run as `postgres` when we are root (the server refuses to run as root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str], what: str) -> str:
    result = subprocess.run(_as_owner(argv), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"PostgreSQL: {what} failed:\n{(result.stderr or result.stdout)[-1500:]}")
    return result.stdout


def _prepare_dir(target: PostgresTarget) -> None:
    target.data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # the server runs as `postgres`: it must own its folder and traverse the stack home
        owner = pwd.getpwnam("postgres")
        target.data_dir.parent.chmod(0o755)
        os.chown(target.data_dir, owner.pw_uid, owner.pw_gid)
    target.data_dir.chmod(0o700)


# Per-statement calls and times (`fanout bench` reads them per run: docs/benchmarks.md).
STATEMENT_STATS = "pg_stat_statements"


def statement_stats_available(bindir: Path) -> bool:
    """Whether this server has the contrib module `pg_stat_statements` (Debian's
    `postgresql` package ships it; a server built without contrib does not)."""
    return (bindir.parent / "lib" / f"{STATEMENT_STATS}.so").exists()


def is_running(bindir: Path, target: PostgresTarget) -> bool:
    """True when our cluster's postmaster is up."""
    if not (target.data_dir / "PG_VERSION").exists():
        return False
    argv = _as_owner([str(bindir / "pg_ctl"), "-D", str(target.data_dir), "status"])
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0  # noqa: S603


def start(bindir: Path, target: PostgresTarget, log: list[str]) -> bool:
    """Create the cluster if needed and start it. False if it was already running."""
    if is_running(bindir, target):
        return False
    if port_open(target.host, target.port):
        raise StackError(
            f"PostgreSQL: port {target.host}:{target.port} is already taken by another process. "
            f"Stop it, or set FANOUT_DATABASE_URL to use that server instead."
        )
    if not (target.data_dir / "PG_VERSION").exists():
        _prepare_dir(target)
        log.append(f"initialising a PostgreSQL cluster in {target.data_dir}")
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(target.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
            "initdb",
        )
    options = (
        f"-p {target.port} -k {target.data_dir} -c listen_addresses={target.host} "
        "-c max_connections=300 -c shared_buffers=256MB -c synchronous_commit=off"
    )
    if statement_stats_available(bindir):
        options += f" -c shared_preload_libraries={STATEMENT_STATS}"
    server_log = target.data_dir / "server.log"
    result = subprocess.run(  # noqa: S603
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(target.data_dir),
                "-l",
                str(server_log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = ""
        if server_log.exists():
            tail = "\n".join(server_log.read_text(errors="replace").splitlines()[-10:])
        raise StackError(f"PostgreSQL did not start:\n{result.stderr[-800:]}\n{tail}")
    log.append(f"PostgreSQL started on {target.host}:{target.port}")
    return True


def ensure_database(target: PostgresTarget) -> None:
    """Create the application role and database if they do not exist."""
    psql = [
        "psql",
        "-h",
        target.host,
        "-p",
        str(target.port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
    ]
    role_exists = subprocess.run(  # noqa: S603
        [*psql, f"SELECT 1 FROM pg_roles WHERE rolname = '{_ident(target.user)}'"],
        capture_output=True,
        text=True,
        check=False,
    )
    if role_exists.returncode != 0:
        raise StackError(f"PostgreSQL: cannot connect as postgres:\n{role_exists.stderr[-800:]}")
    if role_exists.stdout.strip() != "1":
        subprocess.run(  # noqa: S603
            [
                *psql,
                f'CREATE ROLE "{_ident(target.user)}" LOGIN CREATEDB PASSWORD '
                f"'{_literal(target.password)}'",
            ],
            capture_output=True,
            check=True,
        )
    db_exists = subprocess.run(  # noqa: S603
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{_ident(target.database)}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    if db_exists.stdout.strip() != "1":
        subprocess.run(  # noqa: S603
            [*psql, f'CREATE DATABASE "{_ident(target.database)}" OWNER "{_ident(target.user)}"'],
            capture_output=True,
            check=True,
        )
    _enable_statement_stats(psql, target)


def _enable_statement_stats(psql: list[str], target: PostgresTarget) -> None:
    """`pg_stat_statements` in the application database, when the server preloads it (a
    cluster started before it did takes it at its next start: `fanout stack down`, then
    up). Reading it needs no privilege beyond the application role's own
    statements, which are every statement of Fanout's services."""
    preloaded = subprocess.run(  # noqa: S603
        [*psql, "SHOW shared_preload_libraries"], capture_output=True, text=True, check=False
    )
    if STATEMENT_STATS not in preloaded.stdout:
        return
    at = psql.index("-d") + 1
    in_database = [*psql[:at], target.database, *psql[at + 1 :]]
    subprocess.run(  # noqa: S603
        [*in_database, f"CREATE EXTENSION IF NOT EXISTS {STATEMENT_STATS}"],
        capture_output=True,
        check=True,
    )


def stop(bindir: Path, target: PostgresTarget) -> bool:
    """Stop our cluster (fast shutdown). False if it was not running."""
    if not is_running(bindir, target):
        return False
    _run([str(bindir / "pg_ctl"), "-D", str(target.data_dir), "-m", "fast", "-w", "stop"], "stop")
    return True


def _ident(name: str) -> str:
    """Identifiers come from our own settings; refuse anything that is not a plain name."""
    if not name.replace("_", "").isalnum():
        raise StackError(f"PostgreSQL: refusing unusual identifier {name!r} in FANOUT_DATABASE_URL")
    return name


def _literal(value: str) -> str:
    return value.replace("'", "''")
