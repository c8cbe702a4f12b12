"""A whole stack of the fault tests' own: home, Postgres, Kafka, services, topic prefix.

The fault tests kill services and stop the broker and Postgres, so they can
never share a stack: this starts a complete one under a temporary
FANOUT_HOME, on free ports (Postgres, Kafka and its controller, every
service via FANOUT_<SERVICE>_PORT), with its own topic prefix, and stops and
wipes it on the way out, failure or not. Everything it needs is set in the
environment for the duration (restored afterwards), so the services it
starts and the suite's clients agree on every address.

This is the one place the fault tests start and stop a stack; it can give
way to the test suite's isolated-stack fixture when that exists.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.kafka import JVM_OPTIONS_VARIABLE
from shared.settings import CommonSettings
from tests.ports import free_ports

# where the Kafka jars are, and the suite's broker JVM options
KEEP = frozenset({"FANOUT_CACHE_DIR", "FANOUT_MAVEN_SETTINGS", JVM_OPTIONS_VARIABLE})


def stack_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The FANOUT_* environment of a private stack under `home`."""
    (postgres, dns, smtp, *services) = free_ports(3 + len(SERVICES))
    (kafka,) = free_ports(1, consecutive=2)
    env = {
        "FANOUT_HOME": str(home),
        "FANOUT_DATABASE_URL": f"postgresql://fanout:fanout@127.0.0.1:{postgres}/fanout",
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
        "FANOUT_TOPIC_PREFIX": f"chaos{uuid.uuid4().hex[:6]}.",
        "FANOUT_ESP_SIMULATOR_DNS_PORT": str(dns),  # campaign_api asks it (components.py)
        "FANOUT_STACK_SMTP_PORT": str(smtp),  # the sender's SMTP dialect follows it
    }
    env.update({f"{s.env_prefix}PORT": str(p) for s, p in zip(SERVICES, services, strict=True)})
    return {**env, **extra}


@contextlib.contextmanager
def stopped_on_exit(stop: Callable[[], None]) -> Iterator[None]:
    """Run `stop` once: on leaving, at interpreter exit, or on SIGTERM (then exit 143)."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            stop()

    def on_sigterm(signum: int, _frame: object) -> None:
        once()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    atexit.register(once)
    try:
        yield
    finally:
        once()
        atexit.unregister(once)
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def private_stack(extra_env: dict[str, str] | None = None) -> Iterator[CommonSettings]:
    """Start a private stack (with `extra_env` for its services); stop and wipe it after,
    also when the run is interrupted (SIGINT, SIGTERM)."""
    home = Path(tempfile.mkdtemp(prefix="fanout-chaos-"))
    home.chmod(0o755)  # the Postgres server runs as `postgres` when we are root
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("FANOUT_") and k not in KEEP]:
            patch.delenv(key)
        for key, value in stack_env(home, extra_env or {}).items():
            patch.setenv(key, value)
        common = CommonSettings()
        with stopped_on_exit(lambda: orchestrate.down(common, True, lines.append)):
            orchestrate.up(common, [], lines.append)
            yield common
