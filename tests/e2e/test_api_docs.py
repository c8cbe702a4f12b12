"""docs/api.md's commands run against the running stack, so the quickstart cannot rot.

The blocks marked `<!-- doc-test: NAME -->` run in one bash session in the page's order,
as a reader pastes them after `make demo`: shell blocks as written (with `set -euo
pipefail`), the Python block by the virtualenv's python, in a scratch folder, with the
stack's addresses, a fresh account's API key and the URL of a webhook receiver (the
reader's own endpoint) in the environment. Each block's output is then checked by name
below; a marked block without a check, or a check whose block
is gone, fails too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from fanout_cli.demo.run import new_account
from fanout_cli.stack.components import service_url
from shared.settings import CommonSettings
from tests.e2e.receiving import Received, receiving

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(
    r"<!-- doc-test: (?P<name>[\w-]+) -->\n```(?P<lang>sh|python)\n(?P<code>.*?)```", re.S
)
MARK = "::doc-test::"
PY_END = "FANOUT_DOC_TEST_PYTHON"
RUN_TIMEOUT_S = 240
WEBHOOK_WAIT_S = 60  # the notifier delivers after the campaign completes, asynchronously


def marked_blocks(page: str) -> list[tuple[str, str, str]]:
    """(name, language, code) of every marked block, in the page's order."""
    return [(m["name"], m["lang"], m["code"]) for m in BLOCK.finditer(page)]


def script(blocks: list[tuple[str, str, str]]) -> str:
    """One bash script running `blocks`, each announced on stdout by a marker line."""
    parts = ["set -euo pipefail"]
    for name, lang, code in blocks:
        parts.append(f"echo '{MARK}{name}'")
        parts.append(code if lang == "sh" else f"python - <<'{PY_END}'\n{code}{PY_END}")
    return "\n".join(parts) + "\n"


def outputs(stdout: str) -> dict[str, str]:
    """Each block's output, by name."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            current = found.setdefault(line[len(MARK) :], [])
        else:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Received]:
    """The reader's own webhook endpoint (docs/api.md section 10)."""
    with receiving() as received:
        yield received


@pytest.fixture(scope="module")
def ran(
    stack: CommonSettings, receiver: Received, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The page's blocks, run as a reader would; their outputs by block name."""
    _, key = asyncio.run(new_account(stack, "Docs"))
    env = {
        **os.environ,
        "API": service_url("campaign_api"),
        "REPORTS": service_url("report_sink"),
        "SIMULATOR": service_url("esp_simulator"),
        "FANOUT_API_KEY": key,
        "RECEIVER": receiver.url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    run = subprocess.run(
        ["bash", "-c", script(marked_blocks(PAGE.read_text(encoding="utf-8")))],
        env=env,
        cwd=tmp_path_factory.mktemp("docs"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    done = outputs(run.stdout)
    last = next(reversed(done), "(none)")
    assert run.returncode == 0, f"block {last!r} failed:\n{run.stdout[-3000:]}\n{run.stderr}"
    return done


def _lines(text: str) -> list[str]:
    return text.strip().splitlines()


def _key(out: str) -> None:
    assert out.strip() == "1"


def _domain(out: str) -> None:
    assert out.strip() == "verified"


def _import(out: str) -> None:
    answer = json.loads(out)
    assert (answer["accepted"], answer["rejected"]) == (40, 1)
    assert answer["rejected_rows"][0]["line"] == 42


def _preview(out: str) -> None:
    answer = json.loads(out)
    assert answer["matched"] == 27 and answer["first"].endswith("@example.com")


def _mistake(out: str) -> None:
    assert "contry" in out and "country" in out


def _template(out: str) -> None:
    assert re.fullmatch(r"Reader \d+, what's new in April", out.strip()), out


def _suppress(out: str) -> None:
    added, listed = _lines(out)
    assert json.loads(added) == {"received": 1, "added": 1}
    assert json.loads(listed) == [{"email": "reader2@example.com", "reason": "asked by phone"}]


def _campaign(out: str) -> None:
    launched, paused, resumed = _lines(out)
    assert (launched, paused) == ("scheduled", "paused")
    assert resumed in ("scheduled", "queued")  # "queued" when the machine took 10 s to get here


def _follow(out: str) -> None:
    row = json.loads(out)
    assert row == {
        "state": "completed",
        "matched": 27,
        "sent": 26,
        "excluded": 1,
        "excluded_suppressed": 1,
    }


def _funnel(out: str) -> None:
    funnel = json.loads(out)
    assert funnel["matched"] == 27
    assert (funnel["counts"]["sent"], funnel["counts"]["excluded"]) == (26, 1)


def _reports(out: str) -> None:
    recipients, header, row, bounces, exclusions, timeline, campaigns, history, sql = _lines(out)
    assert len(json.loads(recipients)) == 3
    assert header.startswith("lead_id,email,status") and "@example.com" in row
    assert json.loads(bounces)["total"] >= 0
    assert json.loads(exclusions)["by_reason"][0]["leads"] == 1
    assert sum(minute["sent"] for minute in json.loads(timeline)) == 26
    assert {"name": "April news", "sent": 26} in json.loads(campaigns)
    assert json.loads(history)
    assert ["sent", 26] in json.loads(sql)


def _unsuppress(out: str) -> None:
    assert out.strip() == "204"


@pytest.fixture(scope="module")
def delivered(ran: dict[str, str], receiver: Received) -> list[dict[str, Any]]:
    """The events the reader's endpoint got up to the Python block's campaign.completed,
    each verified with `standardwebhooks` and the secret the registration printed."""
    webhook = Webhook(json.loads(ran["webhook"])["secret"])
    receiver.wait_for('"campaign.completed"', deadline=time.monotonic() + WEBHOOK_WAIT_S)
    return [webhook.verify(body, headers) for headers, body in list(receiver.requests)]


def _webhook(out: str) -> None:
    answer = json.loads(out)
    assert answer["secret"].startswith("whsec_") and answer["id"]


def _python(out: str) -> None:
    assert _lines(out) == [
        "imported 1",
        "matched 14",
        "launch answered 202",
        "completed sent 14 of 14",
    ]


CHECKS: dict[str, Callable[[str], None]] = {
    "key": _key,
    "domain": _domain,
    "import": _import,
    "preview": _preview,
    "mistake": _mistake,
    "template": _template,
    "suppress": _suppress,
    "campaign": _campaign,
    "follow": _follow,
    "funnel": _funnel,
    "reports": _reports,
    "unsuppress": _unsuppress,
    "webhook": _webhook,
    "python": _python,
}


def test_every_marked_block_has_a_check() -> None:
    names = [name for name, _, _ in marked_blocks(PAGE.read_text(encoding="utf-8"))]
    assert names == list(CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_api_docs_block_prints_what_the_page_says(ran: dict[str, str], name: str) -> None:
    CHECKS[name](ran[name])


def test_the_readers_endpoint_is_told_the_campaign_completed(
    ran: dict[str, str], delivered: list[dict[str, Any]]
) -> None:
    """Section 10's endpoint gets the Python block's campaign launched and completed, signed
    (each request verified above), with the summary the page's Python block printed."""
    types = [event["type"] for event in delivered]
    assert "campaign.launched" in types and "campaign.completed" in types
    completed = next(event for event in delivered if event["type"] == "campaign.completed")
    summary = completed["data"]["summary"]
    assert (summary["matched"], summary["sent"]) == (14, 14), summary
