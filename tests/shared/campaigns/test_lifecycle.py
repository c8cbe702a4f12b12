"""The transition table on its own: every pair of state and action, and the named sets."""

from __future__ import annotations

import pytest

from shared.campaigns import (
    API_ACTIONS,
    TERMINAL,
    TRANSITIONS,
    WORKER_ACTIONS,
    WORKING,
    Action,
    IllegalTransition,
    State,
    allowed_from,
    next_state,
)

PAIRS = [(state, action) for action in Action for state in State]


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_next_state_follows_the_table(state: State, action: Action) -> None:
    sources, target = TRANSITIONS[action]
    if state in sources:
        assert next_state(state, action) is target
    else:
        with pytest.raises(IllegalTransition) as raised:
            next_state(state, action)
        assert (raised.value.current, raised.value.action) == (state, action)
        assert str(raised.value) == f"cannot {action.value} a campaign that is {state.value}"


def test_terminal_states_have_no_way_out() -> None:
    for action in Action:
        assert not allowed_from(action) & TERMINAL
    assert {target for _, target in TRANSITIONS.values()} >= TERMINAL


def test_worker_actions_neither_start_a_run_nor_complete() -> None:
    assert not WORKER_ACTIONS & {Action.LAUNCH, Action.SCHEDULE, Action.START, Action.RESUME}
    assert Action.COMPLETE not in WORKER_ACTIONS | API_ACTIONS
    assert WORKING.issubset(allowed_from(Action.PAUSE) & allowed_from(Action.FAIL))
