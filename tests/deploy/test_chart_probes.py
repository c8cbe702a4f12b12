"""The chart's probes against the real operations endpoints (shared/service/health.py).

Liveness and startup use `/healthz`, which must answer without a token; readiness uses
`/readyz`, which answers only to the operations token, so the chart runs the rendered
exec probe: here it is run for real against an operations app on a free port, and passes
only with the right token and a ready service.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from shared.service.health import operations_app
from tests.deploy.chart import VARIANTS, Manifest, Variant, containers, render, secret_env
from tests.ports import free_port

pytestmark = pytest.mark.timeout(1800)  # a fresh machine builds helm on the first render
TOKEN = "the-operations-token-of-this-test"


async def _ready() -> None:
    return None


async def _broken() -> None:
    raise ConnectionError("broker down")


@contextmanager
def _operations_server(port: int, *, ready: bool) -> Iterator[None]:
    app = operations_app("probe", {"kafka": _ready if ready else _broken}, ops_token=TOKEN)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the operations server did not start")
            thread.join(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join()


def _service_containers(manifests: list[Manifest]) -> list[Manifest]:
    return [c for w, c in containers(manifests) if w["kind"] == "Deployment"]


def _run_probe(command: list[str], token: str) -> int:
    argv = [sys.executable, *command[1:]] if command[0] == "python" else command
    env = {"PATH": "/usr/bin:/bin", "FANOUT_OPS_TOKEN": token}
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_probes_use_the_service_port_and_the_operations_paths(variant: Variant) -> None:
    app = operations_app("paths", {}, ops_token=TOKEN)
    paths = set(app.openapi()["paths"])
    for container in _service_containers(variant.render()):
        (port,) = container["ports"]
        for probe in ("startupProbe", "livenessProbe"):
            action = container[probe]["httpGet"]
            assert action["port"] == port["containerPort"] and action["path"] in paths
        command = " ".join(container["readinessProbe"]["exec"]["command"])
        assert f"127.0.0.1:{port['containerPort']}/readyz" in command and "/readyz" in paths
        assert "FANOUT_OPS_TOKEN" in command and "FANOUT_OPS_TOKEN" in secret_env(container)


async def test_liveness_needs_no_token_and_readiness_does() -> None:
    app = operations_app("probe", {"kafka": _ready}, ops_token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 401


def test_readiness_probe_passes_only_with_the_token_on_a_ready_service() -> None:
    port = free_port()
    (container, *_) = _service_containers(render(sets=(f"probes.port={port}",)))
    command = container["readinessProbe"]["exec"]["command"]
    with _operations_server(port, ready=True):
        assert _run_probe(command, TOKEN) == 0
        assert _run_probe(command, "not-the-operations-token") != 0
    with _operations_server(port, ready=False):
        assert _run_probe(command, TOKEN) != 0


def test_probe_port_and_mode_follow_the_values() -> None:
    """When the operations endpoints move to a port of their own without the token."""
    sets = ("probes.port=9100", "probes.readiness.bearerTokenEnv=")
    for container in _service_containers(render(sets=sets)):
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 9100}
        assert container["livenessProbe"]["httpGet"]["port"] == 9100
