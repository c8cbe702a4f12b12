"""The retry schedule: waits from the list, moved by the jitter, longer on Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifier.backoff import next_attempt, retry_after_s

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SCHEDULE = [5.0, 300.0]


def test_waits_follow_the_schedule_then_give_up() -> None:
    at = [next_attempt(SCHEDULE, n, NOW, jitter=0.1, spread=lambda: 0.0) for n in (1, 2, 3)]
    assert at == [NOW + timedelta(seconds=5), NOW + timedelta(seconds=300), None]


def test_jitter_moves_a_wait_by_at_most_its_share() -> None:
    late = next_attempt(SCHEDULE, 2, NOW, jitter=0.1, spread=lambda: 1.0)
    early = next_attempt(SCHEDULE, 2, NOW, jitter=0.1, spread=lambda: -1.0)
    assert (late, early) == (NOW + timedelta(seconds=330), NOW + timedelta(seconds=270))


def test_retry_after_asks_for_longer_up_to_a_cap() -> None:
    def asked(seconds: float) -> datetime | None:
        return next_attempt(
            SCHEDULE, 1, NOW, jitter=0, asked_s=seconds, max_asked_s=3600, spread=lambda: 0.0
        )

    assert asked(1) == NOW + timedelta(seconds=5)  # shorter than the schedule: ignored
    assert asked(120) == NOW + timedelta(seconds=120)
    assert asked(86_400) == NOW + timedelta(seconds=3600)
    assert [retry_after_s(v) for v in ("30", " 2.5 ", "-1", "Wed, 21 Oct", None)] == [
        30.0,
        2.5,
        None,
        None,
        None,
    ]
