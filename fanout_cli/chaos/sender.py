"""The running sender as the suite sees it: its pacing for the run, and its settings.

A fault must land mid-campaign with batches in flight and webhooks flowing,
so a campaign has to last more than a few seconds: the suite runs the sender
with a send-rate budget sized to the campaign (`pacing_env`), restarting it
once if it runs with another. The duplicate bound and the message ids come
from the settings of the sender process actually running (its environment,
read from /proc), not from the suite's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from fanout_cli.stack.components import service_named
from services.sender.config import Settings as SenderSettings
from shared.contracts.sends import MAX_BATCH
from shared.settings import CommonSettings

PREFIX = "FANOUT_SENDER_"
TARGET_CAMPAIGN_S = 15.0  # a campaign of the suite lasts about this long at its pace
MIN_RATE, MAX_RATE = 200.0, 2000.0


def pace(leads: int) -> float:
    """Emails per second for a campaign of `leads` to last about TARGET_CAMPAIGN_S."""
    return max(MIN_RATE, min(MAX_RATE, leads / TARGET_CAMPAIGN_S))


def pacing_env(rate: float) -> dict[str, str]:
    """The sender's environment for sending to the simulator at `rate` emails/s."""
    budgets = {**SenderSettings().rate_budgets, "simulator": rate}
    return {f"{PREFIX}RATE_BUDGETS": json.dumps(budgets)}


def running_env(common: CommonSettings) -> dict[str, str] | None:
    """The FANOUT_SENDER_* environment of the running sender; None if it is not running."""
    pid = service_named("sender").process(common.home).pid()
    if pid is None:
        return None
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs if key.startswith(PREFIX)}


def runs_with(common: CommonSettings, env: dict[str, str]) -> bool:
    """Whether the running sender has every variable of `env` as given."""
    current = running_env(common)
    return current is not None and all(current.get(k) == v for k, v in env.items())


def sender_setting(common: CommonSettings, name: str) -> Any:
    """One scalar setting of the running sender: from its environment, else the default."""
    field = SenderSettings.model_fields[name]
    raw = (running_env(common) or {}).get(f"{PREFIX}{name.upper()}")
    if raw is None or field.annotation is None:
        return field.get_default(call_default_factory=True)
    return TypeAdapter(field.annotation).validate_python(raw)


def in_flight_bound(common: CommonSettings) -> int:
    """Most emails a sender crash may repeat: `max_in_flight` batches of MAX_BATCH."""
    return int(sender_setting(common, "max_in_flight")) * MAX_BATCH


def message_id_domain(common: CommonSettings) -> str:
    """The domain of the running sender's deterministic message ids."""
    return str(sender_setting(common, "message_id_domain"))
