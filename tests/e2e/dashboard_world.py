"""What the dashboard's end-to-end tests share: accounts with verified domains on the
running stack, a CSV of leads (one of them hostile), the simulator slowed for a while,
and where screenshots go."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from fanout_cli.api_client import api_client
from fanout_cli.demo.api_calls import account_domain, checked_json, verified_domain
from fanout_cli.demo.run import API, SIMULATOR, new_account
from fanout_cli.stack.kafka import REPO_ROOT
from fanout_cli.testrun.browser import CHROMIUM_VARIABLE, find_chromium
from shared.reputation import GuardThresholds
from shared.settings import CommonSettings
from tests.dashboard import HOSTILE_LEAD

DASHBOARD = f"{API}/app"
SCREENSHOTS = REPO_ROOT / "build" / "screenshots" / "dashboard"
SIMULATOR_OUTCOMES = {
    "hard_bounce_rate": 0.04,
    "soft_bounce_rate": 0.01,
    "complaint_rate": 0.005,
    "open_rate": 0.35,
    "click_rate": 0.1,
    "outcome_delay_ms": 100.0,
    "engagement_delay_ms": 200.0,
    "latency_p50_ms": 5.0,
    "latency_p99_ms": 20.0,
}


@dataclass(frozen=True)
class DashboardAccount:
    """An account of the running stack, its key and its verified sending domain."""

    id: UUID
    key: str
    domain: str


def make_account(stack: CommonSettings, label: str) -> DashboardAccount:
    """A fresh account with a verified domain, made as `fanout demo` makes its own, whose
    guard is off: the simulated list here complains at 0.5 % (`SIMULATOR_OUTCOMES`), past
    the guard's default lines and on the demo's raised ones, so the guard paused the
    test's campaign mid-run (now one run in two, now another). The dashboard's side of a
    guard pause is tested in tests/campaign_api/test_dashboard_pages.py.

    The account is made on a thread of its own: Playwright's sync API keeps an event loop
    running on this one while a browser is open."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        quiet = GuardThresholds(enabled=False)
        account_id, key = thread.submit(asyncio.run, new_account(stack, label, quiet)).result()
    with api_client(API, key) as client:
        domain = verified_domain(client, SIMULATOR, account_domain("dash", account_id))
    return DashboardAccount(account_id, key, domain)


def chromium() -> str:
    """Debian's Chromium, which `fanout test` installs; the browser tests skip without it."""
    path = os.environ.get(CHROMIUM_VARIABLE) or find_chromium()
    if not path:
        pytest.skip("no chromium: `fanout test` installs Debian's package (as root)")
    return str(path)


@dataclass(frozen=True)
class LeadFile:
    """A CSV of leads: `total` valid rows plus one invalid (at `bad_line`), the hostile lead
    among them. `german` have country DE; `german_vip` DE and the tag vip."""

    path: Path
    total: int
    german: int
    german_vip: int
    bad_line: int
    hostile_email: str


def lead_file(folder: Path, total: int) -> LeadFile:
    """`total` leads: 80 % in DE, 90 % tagged vip (so conditions have counts to change)."""
    tag = uuid.uuid4().hex[:8]
    hostile = f"hostile-{tag}@example.com"
    rows = ["email,first_name,last_name,country,tags,note"]
    rows.append(
        f'{hostile},{HOSTILE_LEAD["first_name"]},"{_csv(HOSTILE_LEAD["last_name"])}",DE,vip,x'
    )
    german = german_vip = 1
    for i in range(total - 1):
        country = "DE" if i % 10 < 8 else "FR"
        tags = "vip;newsletter" if i % 10 else "newsletter"
        german += country == "DE"
        german_vip += country == "DE" and "vip" in tags
        rows.append(f"lead{i}-{tag}@example.com,Lead {i},Test,{country},{tags},n{i % 7}")
    rows.insert(3, "not-an-email,Bad,Row,DE,vip,x")
    path = folder / f"leads-{tag}.csv"
    path.write_text("\n".join(rows) + "\n")
    return LeadFile(path, total, german, german_vip, 4, hostile)


def _csv(value: str) -> str:
    return value.replace('"', '""')


@contextmanager
def simulator_config(changes: dict[str, Any]) -> Iterator[httpx.Client]:
    """The simulator set to `changes` (plus realistic outcomes) for the block, then put back
    as it was: later tests of the package share it."""
    with httpx.Client(timeout=30) as client:
        before = checked_json(client.get(f"{SIMULATOR}/v1/config"), "reading simulator config")
        wanted = {**SIMULATOR_OUTCOMES, **changes}
        checked_json(client.post(f"{SIMULATOR}/v1/config", json=wanted), "configuring simulator")
        try:
            yield client
        finally:
            restore = {k: before[k] for k in wanted if k in before}
            client.post(f"{SIMULATOR}/v1/config", json=restore)


def wait_for(check: Any, what: str, timeout_s: float = 60.0, every_s: float = 0.5) -> Any:
    """Call `check` until it answers something truthy; fail naming `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)
