"""The consumer settings services tune: heartbeats within a third of the session, and the
sender's rebalance timeout beyond its drain on revocation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.sender.config import Settings as SenderSettings
from services.sender.consumer import REJOIN_MARGIN_MS, consumer_options
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


def test_sender_waits_for_its_drain_before_the_group_moves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FANOUT_SENDER_SESSION_TIMEOUT_MS", "6000")
    options = consumer_options(SenderSettings())
    assert options.session_timeout_ms == 6_000
    assert options.heartbeat_interval_ms == 2_000
    assert options.rebalance_timeout_ms == 20_000 + REJOIN_MARGIN_MS  # revoke_wait_s 20 s
    assert ConsumerOptions().rebalance_timeout_ms is None  # other groups: aiokafka's default
