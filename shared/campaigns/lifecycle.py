"""The campaign lifecycle as one explicit transition table.

    draft ──launch──> queued ──(resolver)──> resolving ──(resolver)──> sending ──> completed
      └───schedule──> scheduled ──(scheduler, when due)──> queued
    queued/scheduled/resolving/sending ──pause──> paused ──resume──> queued
                                                  paused ──reschedule──> scheduled
    draft/scheduled/queued/resolving/sending/paused ──cancel──> cancelled
    queued/resolving/sending/paused ──fail (workers)──> failed

The API makes launch, schedule, pause, resume, reschedule and cancel; its scheduler
makes `start`; lead_resolver and sender make `resolve`, `send`, `complete`, `fail`
and `pause` (the sender, when its provider stops all sending). A request to resume
is planned like a request to launch: a launch with a future `scheduled_at` is a
`schedule`, and a resume of a campaign paused before it ever started, whose
`scheduled_at` is still ahead, is a `reschedule` (it waits for its time again); any
other resume (it had started, or its time passed while it was paused) goes to
`queued` and sends now. Anything not in
the table is illegal (through the API: HTTP 409 with the current state). The
writer that applies these moves is `shared.campaigns.moves`; this module is
the table alone, free of I/O.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RESOLVING = "resolving"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Action(StrEnum):
    """What moves a campaign from one state to another."""

    LAUNCH = "launch"
    SCHEDULE = "schedule"
    START = "start"
    RESOLVE = "resolve"
    SEND = "send"
    COMPLETE = "complete"
    PAUSE = "pause"
    RESUME = "resume"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    FAIL = "fail"


S = State
TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    Action.LAUNCH: (frozenset({S.DRAFT}), S.QUEUED),
    Action.SCHEDULE: (frozenset({S.DRAFT}), S.SCHEDULED),
    Action.START: (frozenset({S.SCHEDULED}), S.QUEUED),
    Action.RESOLVE: (frozenset({S.QUEUED}), S.RESOLVING),
    Action.SEND: (frozenset({S.RESOLVING}), S.SENDING),
    Action.COMPLETE: (frozenset({S.SENDING}), S.COMPLETED),
    Action.PAUSE: (frozenset({S.QUEUED, S.SCHEDULED, S.RESOLVING, S.SENDING}), S.PAUSED),
    Action.RESUME: (frozenset({S.PAUSED}), S.QUEUED),
    Action.RESCHEDULE: (frozenset({S.PAUSED}), S.SCHEDULED),
    Action.CANCEL: (
        frozenset({S.DRAFT, S.SCHEDULED, S.QUEUED, S.RESOLVING, S.SENDING, S.PAUSED}),
        S.CANCELLED,
    ),
    Action.FAIL: (frozenset({S.QUEUED, S.RESOLVING, S.SENDING, S.PAUSED}), S.FAILED),
}
API_ACTIONS = frozenset(
    {Action.LAUNCH, Action.SCHEDULE, Action.PAUSE, Action.RESUME, Action.RESCHEDULE, Action.CANCEL}
)
# Moves a worker makes on its own: none of them starts a run. `complete` is not here on
# purpose: only the completion rule (`complete_if_accounted`) may complete a campaign.
WORKER_ACTIONS = frozenset({Action.RESOLVE, Action.SEND, Action.FAIL, Action.PAUSE})
# A campaign whose pipeline is moving: the resolver has leads to emit or the sender batches.
WORKING = frozenset({S.QUEUED, S.RESOLVING, S.SENDING})
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})


class IllegalTransition(Exception):
    """`action` is not allowed from `current`."""

    def __init__(self, current: State, action: Action) -> None:
        super().__init__(f"cannot {action.value} a campaign that is {current.value}")
        self.current = current
        self.action = action


def allowed_from(action: Action) -> frozenset[State]:
    """The states `action` may start from."""
    return TRANSITIONS[action][0]


def next_state(current: State, action: Action) -> State:
    """The state after `action`, or `IllegalTransition`."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise IllegalTransition(current, action)
    return target
