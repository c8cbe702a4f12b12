"""The demo's guard lines against the demo's simulated list: `make demo` is not paused by chance.

The demo's ESP rolls every message's fate at random (no seed), with 0.2 % complaints, and
the demo raises its account's complaint lines so that such a list runs to the end. Lines
too close to the list's rate are crossed by chance early in a campaign (a few complaints
more than expected in the first 1,000 outcomes); the campaign then pauses and the demo,
or the end-to-end test's second campaign, waits for a completion that never comes.

Here the simulator's own outcome planner rolls many demo-sized campaigns, each from its
own seed (so the run is the same every time), and the guard's own rules judge them as
their outcomes arrive.
"""

from __future__ import annotations

import random
from collections import deque

from fanout_cli.demo.run import DEMO_GUARD, SIMULATOR_REALISM
from services.esp_simulator.config import Knobs
from services.esp_simulator.outcomes import OutcomePlanner
from services.guard.rules import Rates, account_verdict, campaign_verdict
from shared.reputation import GuardThresholds

CAMPAIGNS = 300
LEADS = 12_000  # the end-to-end test's demo; the larger demos are judged on more outcomes
JUDGED_EVERY = 50  # outcomes between verdicts (the guard judges per batch of events)


def _paused(thresholds: GuardThresholds, seed: int) -> bool:
    """Whether a guard with `thresholds` pauses one demo campaign rolled from `seed`."""
    planner, rng = OutcomePlanner(Knobs(**SIMULATOR_REALISM)), random.Random(seed)
    window: deque[tuple[int, int]] = deque(maxlen=thresholds.window_outcomes)
    outcomes = hard = complained = 0
    for _ in range(LEADS):
        events = {event.counter for event in planner.plan(rng)}
        if events & {"delivered", "bounced_hard", "bounced_soft"}:
            outcomes += 1
            is_hard, is_complaint = "bounced_hard" in events, "complained" in events
            hard += is_hard
            complained += is_complaint
            window.append((is_hard, is_complaint))
        if outcomes % JUDGED_EVERY:
            continue
        total = Rates(outcomes, hard, complained)
        last = Rates(len(window), sum(h for h, _ in window), sum(c for _, c in window))
        if campaign_verdict(thresholds, total, last) or account_verdict(thresholds, total):
            return True
    return False


def test_demo_guard_lines_never_pause_the_demo_list_by_chance() -> None:
    demo = GuardThresholds(**DEMO_GUARD)
    paused = [seed for seed in range(CAMPAIGNS) if _paused(demo, seed)]
    assert paused == [], f"{len(paused)} of {CAMPAIGNS} demo campaigns paused by chance"


def test_default_lines_pause_the_demo_list() -> None:
    """The same rolls and rules do pause: under the defaults (0.1 % complaints) this list is
    paused almost every time, which is why the demo raises its lines."""
    default = GuardThresholds()
    paused = sum(_paused(default, seed) for seed in range(30))
    assert paused >= 25
