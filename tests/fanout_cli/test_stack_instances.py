"""Several instances of a service on the local stack: counts, refusals, start and stop.

The processes here are a tiny HTTP server standing in for a service (the real ones need
the stack), started and stopped through the same code as `fanout stack scale`, under a
home of the test's own and on free ports away from the stack's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app
from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import ServiceProcess, service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import PORT_STEP, Instance, known_instances, parse_scale
from fanout_cli.testrun.ports import free_port
from shared.settings import CommonSettings

# Answers every GET with 200; on SIGTERM writes "drained" to its own log file and exits.
FAKE_SERVICE = """
import http.server, os, pathlib, signal, sys
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(os.environ["FANOUT_FAKE_PORT"])), Answer)
def drain(*_):
    pathlib.Path(os.environ["FANOUT_LOG_FILE"]).write_text("drained")
    sys.exit(0)
signal.signal(signal.SIGTERM, drain)
server.serve_forever()
"""


class FakeService(ServiceProcess):
    """A service whose process is FAKE_SERVICE (its marker is in the command line)."""

    def argv(self) -> list[str]:
        return [sys.executable, "-c", FAKE_SERVICE, f"services.{self.module}"]

    def env(self, common: CommonSettings) -> dict[str, str]:
        del common  # the stand-in needs none of the stack's settings
        return {"PATH": "/usr/bin:/bin"}


@pytest.fixture
def embedded(tmp_path: Path) -> CommonSettings:
    return CommonSettings(environment="test", home=tmp_path, clickhouse_url="")


def test_parse_scale_reads_counts_per_service(embedded: CommonSettings) -> None:
    assert parse_scale(embedded, "sender=3, lead-resolver=2,webhook_ingest=2") == {
        "sender": 3,
        "lead_resolver": 2,
        "webhook_ingest": 2,
    }
    assert parse_scale(embedded, "") == {}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("report_sink=2", "chDB allows one process per data folder"),
        ("esp_simulator=2", "runs once"),
        ("sender=13", "at most 12 instances"),
        ("lead_resolver=7", "at most 6 instances"),
        ("sender=0", "at least 1"),
        ("mailer=2", "not SERVICE=N"),
        ("sender=three", "not SERVICE=N"),
        ("sender", "not SERVICE=N"),
    ],
)
def test_parse_scale_refuses_what_cannot_run(
    embedded: CommonSettings, spec: str, reason: str
) -> None:
    with pytest.raises(StackError, match=reason):
        parse_scale(embedded, spec)


def test_report_sink_scales_with_a_clickhouse_server(tmp_path: Path) -> None:
    server = CommonSettings(home=tmp_path, clickhouse_url="http://default:x@ch.example:8123/db")
    assert parse_scale(server, "report_sink=2") == {"report_sink": 2}


def test_instances_have_their_own_name_port_and_log(tmp_path: Path) -> None:
    sender = service_named("sender")
    second = Instance(sender, 2)
    assert (Instance(sender, 1).name, second.name) == ("sender", "sender-2")
    assert second.port == sender.port + PORT_STEP
    assert second.process(tmp_path).log_file == tmp_path / "logs" / "sender-2.log"


def test_cli_refuses_a_second_report_sink_in_embedded_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    monkeypatch.setenv("FANOUT_CLICKHOUSE_URL", "")
    result = CliRunner().invoke(app, ["stack", "scale", "report_sink", "2"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "one process per data folder" in output
    assert "FANOUT_CLICKHOUSE_URL" in output
    assert not (tmp_path / "run").exists()


def test_scale_service_starts_and_gracefully_stops_instances(embedded: CommonSettings) -> None:
    fake = FakeService("fake", free_port(set(), span=2 * PORT_STEP + 1), "FANOUT_FAKE_")
    try:
        orchestrate.scale_service(embedded, fake, 3, lambda _: None)
        instances = known_instances(fake, embedded.home)
        assert [i.name for i in instances] == ["fake", "fake-2", "fake-3"]
        pids = {i.process(embedded.home).pid() for i in instances}
        assert None not in pids and len(pids) == 3

        orchestrate.scale_service(embedded, fake, 1, lambda _: None)
        assert [i.name for i in known_instances(fake, embedded.home)] == ["fake"]
        logs = embedded.home / "logs"
        assert (logs / "fake-2.log").read_text() == "drained"  # SIGTERM, not SIGKILL
        assert (logs / "fake-3.log").read_text() == "drained"
        assert Instance(fake, 1).process(embedded.home).pid() is not None
    finally:
        for instance in known_instances(fake, embedded.home):
            instance.process(embedded.home).stop()
