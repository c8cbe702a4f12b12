"""The JSON condition language that selects a campaign's leads (docs/conditions.md).

cond = parse_condition(body)                       # ConditionError → 422 at err.path
compiled = compile_condition(cond, now=now, first_param=2)
await conn.fetch(f"SELECT l.id FROM leads l WHERE l.account_id = $1 AND {compiled.sql}",
                 account_id, *compiled.params)
evaluate(cond, lead, now)                          # the same answer in plain Python
"""

from shared.conditions.ast import Condition
from shared.conditions.compile import CompiledCondition, compile_condition
from shared.conditions.errors import ConditionError
from shared.conditions.evaluate import evaluate
from shared.conditions.parse import MAX_DEPTH, MAX_NODES, parse_condition

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "CompiledCondition",
    "Condition",
    "ConditionError",
    "compile_condition",
    "evaluate",
    "parse_condition",
]
