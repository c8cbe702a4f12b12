"""Campaign state: the lifecycle table, the one writer of `campaigns.state`, the completion rule.

Every service changes a campaign's state through this package and nowhere
else (an architecture test refuses SQL that sets the state elsewhere), so the
table is the whole truth about which moves exist, and every move is counted
and logged the same way.

    from shared.campaigns import Action, move, move_locked, complete_if_accounted, guard_pause

Every move is announced on a Postgres channel in its own transaction;
`ChangeListener` follows those announcements (`shared.campaigns.changes`).
"""

from shared.campaigns.changes import ChangeListener
from shared.campaigns.completion import complete_if_accounted
from shared.campaigns.guard import guard_pause, release_guard_hold
from shared.campaigns.lifecycle import (
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
from shared.campaigns.moves import MAX_REASON, move, move_locked

__all__ = [
    "MAX_REASON",
    "API_ACTIONS",
    "TERMINAL",
    "TRANSITIONS",
    "WORKER_ACTIONS",
    "WORKING",
    "Action",
    "ChangeListener",
    "IllegalTransition",
    "State",
    "allowed_from",
    "complete_if_accounted",
    "guard_pause",
    "move",
    "move_locked",
    "next_state",
    "release_guard_hold",
]
