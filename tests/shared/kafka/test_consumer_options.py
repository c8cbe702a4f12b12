"""The consumer settings services tune: heartbeats stay within a third of the session."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.sender.config import Settings as SenderSettings
from shared.kafka.consumer import ConsumerOptions


def test_heartbeat_is_aiokafkas_default_or_a_third_of_a_short_session() -> None:
    assert ConsumerOptions().heartbeat_interval_ms == 3_000
    assert ConsumerOptions(session_timeout_ms=6_000).heartbeat_interval_ms == 2_000


def test_sender_session_timeout_defaults_to_ten_seconds_and_refuses_below_the_broker_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SenderSettings().session_timeout_ms == 10_000
    monkeypatch.setenv("FANOUT_SENDER_SESSION_TIMEOUT_MS", "5000")
    with pytest.raises(ValidationError):
        SenderSettings()
