"""The transition table on its own: every pair of state and action, and the named sets."""

from __future__ import annotations

import pytest

from shared.campaigns import Action, IllegalTransition, State, lifecycle

PAIRS = [(state, action) for action in Action for state in State]


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_next_state_follows_the_table(state: State, action: Action) -> None:
    sources, target = lifecycle.TRANSITIONS[action]
    if state in sources:
        assert lifecycle.next_state(state, action) is target
    else:
        with pytest.raises(IllegalTransition) as raised:
            lifecycle.next_state(state, action)
        assert (raised.value.current, raised.value.action) == (state, action)
        assert str(raised.value) == f"cannot {action.value} a campaign that is {state.value}"


def test_terminal_states_have_no_way_out() -> None:
    for action in Action:
        assert not lifecycle.allowed_from(action) & lifecycle.TERMINAL
    assert {target for _, target in lifecycle.TRANSITIONS.values()} >= lifecycle.TERMINAL


def test_worker_actions_neither_start_a_run_nor_complete() -> None:
    starting = {Action.LAUNCH, Action.SCHEDULE, Action.START, Action.RESUME}
    assert not lifecycle.WORKER_ACTIONS & starting
    assert Action.COMPLETE not in lifecycle.WORKER_ACTIONS | lifecycle.API_ACTIONS
    stoppable = lifecycle.allowed_from(Action.PAUSE) & lifecycle.allowed_from(Action.FAIL)
    assert lifecycle.WORKING.issubset(stoppable)
