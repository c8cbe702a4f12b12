"""`fanout stack up/down/status`: bring the whole local stack up, idempotently.

PostgreSQL and Kafka addresses on loopback (the defaults) are the stack's own:
it installs, starts and stops them under `FANOUT_HOME` (a server already
answering there with the right credentials is used as it is). An address on
another host (FANOUT_DATABASE_URL, FANOUT_KAFKA_BOOTSTRAP_SERVERS) or a
FANOUT_CLICKHOUSE_URL is remote: only checked, never started or stopped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from fanout_cli.stack import kafka as kafka_mod
from fanout_cli.stack import postgres as pg
from fanout_cli.stack.components import SERVICES, ServiceProcess, service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import Instance, check_count, known_instances
from fanout_cli.stack.processes import (
    ManagedProcess,
    port_open,
    require_free_port,
    stop_all,
    wait_until,
)
from fanout_cli.stack.secrets import ensure_secrets, known_secret, secrets_path
from shared.clickhouse import connect
from shared.db import redact_dsn
from shared.errors import DependencyUnavailable
from shared.kafka.admin import check_kafka, ensure_topics, wait_for_group_coordinator
from shared.migrations.postgres import upgrade
from shared.settings import CommonSettings

INFRA = ("postgres", "kafka")
# SIGTERM lets a worker drain, flush and commit (shared.service.serve gives it 30 s); only
# an instance still running after this is killed.
STOP_GRACE_S = 40.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class ComponentStatus:
    """One row of `fanout stack status`."""

    name: str
    address: str
    pid: int | None
    health: str


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

# Below either, the disk under FANOUT_HOME is reported low: Kafka's log segments (1 GiB
# each), PostgreSQL's WAL and chDB's merges need room to grow, and a broker whose disk
# fills takes its log directory offline (KafkaStorageError) until it is restarted.
GIB = 2**30
LOW_DISK_BYTES = 5 * GIB
LOW_DISK_SHARE = 0.05


def disk_health(path: Path) -> str:
    """How much room the disk holding `path` (or its nearest existing parent) has left:
    "ok (… GiB free, …%)" or "low: …" with what to do."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    usage = shutil.disk_usage(existing)
    return disk_verdict(usage.total, usage.free)


def disk_verdict(total: int, free: int) -> str:
    """`disk_health`'s words for a disk of `total` bytes with `free` left."""
    share = free / total if total else 0.0
    room = f"{free / GIB:.1f} GiB free, {share:.0%}"
    if free >= LOW_DISK_BYTES and share >= LOW_DISK_SHARE:
        return f"ok ({room})"
    return (
        f"low: {room}; Kafka takes its log directory offline when the disk fills. Free "
        "space (old benchmark output, /tmp) or set FANOUT_HOME on a larger disk"
    )


def _remote_postgres(common: CommonSettings) -> bool:
    return urlsplit(common.database_url).hostname not in LOOPBACK


def _remote_kafka(common: CommonSettings) -> bool:
    first = common.kafka_bootstrap_servers.split(",")[0]
    return first.rpartition(":")[0] not in LOOPBACK


def broker(common: CommonSettings) -> kafka_mod.KafkaBroker:
    """The stack's own broker, on the port of the configured bootstrap address."""
    host, _, port = common.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    return kafka_mod.KafkaBroker(
        home=common.home,
        cache_dir=common.cache_dir,
        host=host or "127.0.0.1",
        port=int(port),
        controller_port=int(port) + 1,
        jvm_options=kafka_mod.jvm_options(os.environ),
    )


def _pg_target(common: CommonSettings) -> pg.PostgresTarget:
    return pg.PostgresTarget.from_dsn(common.database_url, common.home)


async def _can_connect_postgres(dsn: str) -> str | None:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    await conn.close()
    return None


def up_postgres(common: CommonSettings, say: Say) -> None:
    """Our cluster (installed and started if needed) or the configured one; then migrations."""
    if _remote_postgres(common):
        error = asyncio.run(_can_connect_postgres(common.database_url))
        if error is not None:
            raise StackError(
                f"the configured PostgreSQL ({redact_dsn(common.database_url)}) is unreachable: "
                f"{error}. Fix FANOUT_DATABASE_URL or unset it to run a local cluster."
            )
        say(f"PostgreSQL: using configured {redact_dsn(common.database_url)}")
    else:
        notes: list[str] = []
        target = _pg_target(common)
        bindir = pg.ensure_installed(notes)
        if not pg.is_running(bindir, target) and port_open(target.host, target.port):
            if asyncio.run(_can_connect_postgres(common.database_url)) is not None:
                raise StackError(
                    f"PostgreSQL: port {target.host}:{target.port} is already taken by another "
                    "process that does not accept the stack's credentials. Stop it or set "
                    "FANOUT_DATABASE_URL."
                )
            notes.append(f"PostgreSQL already answering on {target.host}:{target.port}; using it")
        else:
            pg.start(bindir, target, notes)
        pg.ensure_database(target)
        for note in notes:
            say(f"PostgreSQL: {note}")
    try:
        upgrade(common.database_url)
    except Exception as exc:
        raise StackError(f"PostgreSQL migrations failed: {exc}") from exc
    say("PostgreSQL: migrations applied")


def up_kafka(common: CommonSettings, say: Say) -> None:
    """Our broker (jars fetched once) or the configured one; then the topics."""
    if not _remote_kafka(common):
        notes: list[str] = []
        own = broker(common)
        if not own.running() and port_open(own.host, own.port):
            try:
                asyncio.run(check_kafka(common))
            except DependencyUnavailable as exc:
                raise StackError(
                    f"Kafka: port {own.bootstrap} is already taken by another process that is "
                    "not a Kafka broker. Stop it or set FANOUT_KAFKA_BOOTSTRAP_SERVERS."
                ) from exc
            notes.append(f"a broker already answers on {own.bootstrap}; using it")
        elif own.start(notes):
            own.wait_ready()
        for note in notes:
            say(f"Kafka: {note}")
    try:
        attempts = 1 if _remote_kafka(common) else 60
        topics = asyncio.run(_wait_for_kafka(common, attempts))
    except DependencyUnavailable as exc:
        raise StackError(str(exc)) from exc
    say(
        f"Kafka: ready at {common.kafka_bootstrap_servers}"
        + (f", created topics {', '.join(topics)}" if topics else "")
    )


async def _wait_for_kafka(common: CommonSettings, attempts: int) -> list[str]:
    """The topics created, once the broker answers and coordinates consumer groups (a
    new broker's offsets topic is made and loaded on the first group look-up)."""
    created = await _topics_when_answering(common, attempts)
    await wait_for_group_coordinator(common)
    return created


async def _topics_when_answering(common: CommonSettings, attempts: int) -> list[str]:
    last: DependencyUnavailable | None = None
    for _ in range(attempts):
        try:
            await check_kafka(common)
            return await ensure_topics(common)
        except DependencyUnavailable as exc:
            last = exc
            await asyncio.sleep(1)
    assert last is not None
    raise last


def check_clickhouse(common: CommonSettings, say: Say) -> None:
    """A configured server must answer; embedded chDB is opened by report_sink."""
    if common.clickhouse_url:
        try:
            client = connect(common)
            client.query("SELECT 1")
            client.close()
        except Exception as exc:
            raise StackError(str(exc)) from exc
        say(f"ClickHouse: server at {common.clickhouse_url.split('@')[-1]} answers")
    else:
        say(f"ClickHouse: embedded chDB at {common.chdb_path} (opened by report_sink)")


def up_service(
    common: CommonSettings,
    service: ServiceProcess,
    say: Say,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Start one service unless it runs (with `extra_env` added); wait for its /healthz."""
    up_instance(common, Instance(service, 1), say, extra_env)


def up_instance(
    common: CommonSettings,
    instance: Instance,
    say: Say,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Start one instance of a service unless it runs; wait for its /healthz."""
    up_instances(common, [instance], say, extra_env)


def up_instances(
    common: CommonSettings,
    instances: Sequence[Instance],
    say: Say,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Start every instance that is not running, all at once, then wait for each one's
    /healthz. They start side by side (no service needs another to start): the start-up
    of all of them takes about as long as the slowest, not the sum."""
    started = [_launch(common, instance, say, extra_env) for instance in instances]
    _await_started([s for s in started if s is not None], say)


Launched = tuple[Instance, ManagedProcess, int]


def _launch(
    common: CommonSettings, instance: Instance, say: Say, extra_env: dict[str, str] | None
) -> Launched | None:
    """Start `instance` unless it runs, without waiting for it; None if it runs already."""
    proc = instance.process(common.home)
    if proc.pid() is not None:
        say(f"{instance.name}: already running (pid {proc.pid()})")
        return None
    require_free_port(instance.name, "127.0.0.1", instance.port)
    env = {**instance.env(common), **(extra_env or {})}
    return instance, proc, proc.start(instance.service.argv(), env=env)


def _await_started(started: Sequence[Launched], say: Say) -> None:
    for instance, proc, pid in started:
        _wait_healthy(instance, proc)
        say(f"{instance.name}: started (pid {pid}) on {instance.url}")


def _wait_healthy(instance: Instance, proc: ManagedProcess) -> None:
    health = f"{instance.url}/healthz"
    healthy = wait_until(lambda: _healthy(health) or proc.pid() is None, timeout=90)
    if not healthy or proc.pid() is None:
        raise StackError(
            f"{instance.name} did not become healthy. Last log lines ({proc.log_file}):\n"
            f"{proc.log_tail(25)}"
        )


def restart_service(
    common: CommonSettings, service: ServiceProcess, extra_env: dict[str, str], say: Say
) -> None:
    """Stop one service and start it again with `extra_env` added (benchmarks tune knobs)."""
    service.process(common.home).stop()
    up_service(common, service, say, extra_env)
    say(f"{service.name}: restarted with {', '.join(sorted(extra_env)) or 'its defaults'}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def up(
    common: CommonSettings, only: Iterable[str], say: Say, scale: Mapping[str, int] | None = None
) -> None:
    """Bring up the selected components (all by default), each at most once; a service in
    `scale` ({module: count}) runs exactly that many instances."""
    counts = dict(scale or {})
    selected = set(only) or {"postgres", "kafka", "clickhouse", *(s.name for s in SERVICES)}
    selected |= set(counts)
    if "infra" in selected:
        selected |= set(INFRA)
    common.home.mkdir(parents=True, exist_ok=True)
    disk = disk_health(common.home)
    if not disk.startswith("ok"):
        say(f"disk under {common.home}: {disk}")
    if ensure_secrets(common.home):
        say(f"secrets: generated into {secrets_path(common.home)} (mode 0600)")
    if "postgres" in selected:
        up_postgres(common, say)
    if "kafka" in selected:
        up_kafka(common, say)
    if "clickhouse" in selected:
        check_clickhouse(common, say)
    wanted = [s for s in SERVICES if s.name in selected or s.module in selected]
    up_instances(common, [Instance(s, 1) for s in wanted if s.module not in counts], say)
    for service in SERVICES:
        if service.module in counts:
            scale_service(common, service, counts[service.module], say)


def scale_service(
    common: CommonSettings,
    service: ServiceProcess,
    count: int,
    say: Say,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Run exactly `count` instances of `service`: start the missing ones (with `extra_env`
    added), stop (SIGTERM, the highest numbers first) those above `count`."""
    check_count(common, service, count)
    up_instances(common, [Instance(service, n) for n in range(1, count + 1)], say, extra_env)
    for instance in reversed(known_instances(service, common.home)):
        if instance.number > count and instance.process(common.home).stop(STOP_GRACE_S):
            say(f"{instance.name}: stopped")


def infra_running(common: CommonSettings) -> bool:
    """Whether this stack's own PostgreSQL cluster and Kafka broker are both running."""
    bindir = pg._bindir()
    postgres = bindir is not None and pg.is_running(bindir, _pg_target(common))
    return postgres and broker(common).running()


def down(common: CommonSettings, wipe: bool, say: Say) -> None:
    """Stop every process the stack started, services first; `wipe` deletes the data."""
    stop_services(common, SERVICES, say)
    if not _remote_kafka(common) and broker(common).stop():
        say("Kafka: stopped")
    if not _remote_postgres(common):
        bindir = pg._bindir()
        if bindir is not None and pg.stop(bindir, _pg_target(common)):
            say("PostgreSQL: stopped")
    if wipe and common.home.exists():
        shutil.rmtree(common.home)
        say(f"wiped {common.home}")


def stop_services(
    common: CommonSettings, services: Sequence[ServiceProcess], say: Say, timeout: float = 20.0
) -> None:
    """Stop every instance of `services` side by side (SIGTERM: each drains, flushes and
    commits), the ESP simulator after the others: a stopping sender still finishes its
    calls in flight against it."""
    instances = [i for s in services for i in known_instances(s, common.home)]
    last = [i for i in instances if i.service.module == "esp_simulator"]
    for wave in ([i for i in instances if i not in last], last):
        processes = {i.process(common.home): i for i in wave}
        for stopped in stop_all(list(processes), timeout):
            say(f"{processes[stopped].name}: stopped")


def restart_services(common: CommonSettings, envs: Mapping[str, dict[str, str]], say: Say) -> None:
    """Stop the named services and start them again side by side, each with its
    environment in `envs` added (benchmarks tune knobs)."""
    wanted = [(service_named(name), env) for name, env in envs.items()]
    stop_services(common, [service for service, _ in wanted], lambda _: None, STOP_GRACE_S)
    started = [_launch(common, Instance(service, 1), say, env) for service, env in wanted]
    _await_started([s for s in started if s is not None], say)
    for service, env in wanted:
        say(f"{service.name}: restarted with {', '.join(sorted(env)) or 'its defaults'}")


def status(common: CommonSettings) -> list[ComponentStatus]:
    """Every component with its address, pid and health."""
    rows: list[ComponentStatus] = []
    target = _pg_target(common)
    pg_error = asyncio.run(_can_connect_postgres(common.database_url))
    rows.append(
        ComponentStatus(
            "postgres",
            f"{target.host}:{target.port}",
            None,
            "ok" if pg_error is None else f"down ({pg_error[:60]})",
        )
    )
    own = broker(common)
    try:
        asyncio.run(check_kafka(common))
        kafka_health = "ok"
    except DependencyUnavailable:
        kafka_health = "down"
    rows.append(
        ComponentStatus("kafka", common.kafka_bootstrap_servers, own.process.pid(), kafka_health)
    )
    rows.append(
        ComponentStatus(
            "clickhouse",
            common.clickhouse_url.split("@")[-1] or f"chdb:{common.chdb_path}",
            None,
            "server" if common.clickhouse_url else "embedded (in report-sink)",
        )
    )
    rows.append(ComponentStatus("disk", str(common.home), None, disk_health(common.home)))
    ops_token = known_secret(common, "ops_token") or ""
    for service in SERVICES:
        for instance in known_instances(service, common.home):
            pid = instance.process(common.home).pid()
            health = _readiness(instance, pid, ops_token)
            rows.append(ComponentStatus(instance.name, instance.url, pid, health))
    return rows


def _readiness(instance: Instance, pid: int | None, ops_token: str) -> str:
    if pid is None:
        return "stopped"
    try:
        auth = {"Authorization": f"Bearer {ops_token}"}
        response = httpx.get(f"{instance.url}/readyz", headers=auth, timeout=6.0)
    except httpx.HTTPError:
        return "starting or unresponsive"
    return "ready" if response.status_code == 200 else f"not ready ({response.text[:80]})"
