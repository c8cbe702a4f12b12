"""`fanout demo` ends by printing the web dashboard's address and the campaign's report."""

from __future__ import annotations

import io
import uuid

from rich.console import Console

from fanout_cli.demo.run import API, DemoOutcome, print_dashboard


def test_demo_output_ends_with_the_dashboard_address() -> None:
    campaign_id = uuid.uuid4()
    outcome = DemoOutcome(
        uuid.uuid4(), "fo_abc_key", campaign_id, 10, 8, {}, {}, {}, {}, 1.0
    )  # fmt: skip
    out = io.StringIO()
    print_dashboard(outcome, Console(file=out, width=200, color_system=None))
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[-1] == f"Dashboard: {API}/app"
    assert f"{API}/app/campaigns/{campaign_id}/report" in out.getvalue()
    assert "fo_abc_key" in out.getvalue()  # the key to sign in with, as the demo printed it
