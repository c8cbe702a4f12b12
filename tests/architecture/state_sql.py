"""Does a SQL text set `campaigns.state`? A small tokenizer, enough for the statements we write.

Flags `UPDATE [ONLY] [schema.]campaigns [[AS] alias] SET ...` and
`INSERT INTO campaigns ... ON CONFLICT ... DO UPDATE SET ...` whose SET list
assigns `state` (bare, qualified, quoted, or in a `(a, b) = (...)` list). A
statement that only reads `state` (in WHERE, in a value, in RETURNING) or
assigns other columns such as `state_reason` is not flagged.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|[A-Za-z_][\w$]*|\$\d+|\S""")
OPEN, CLOSE = {"(", "["}, {")", "]"}
SET_LIST_ENDS = {"where", "from", "returning", ";"}


def _tokens(sql: str) -> list[str]:
    return [t for t in TOKEN.findall(sql) if not t.startswith("--")]


def _name(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()


def _table_at(tokens: list[str], i: int) -> tuple[str, int]:
    """The (unqualified) table name starting at `i`, and the index after it."""
    if i < len(tokens) and _name(tokens[i]) == "only":
        i += 1
    if i + 2 < len(tokens) and tokens[i + 1] == ".":
        i += 2
    return (_name(tokens[i]), i + 1) if i < len(tokens) else ("", i)


def _set_after_update(tokens: list[str], i: int) -> int | None:
    """Index after SET when the UPDATE at `i` targets campaigns, else None."""
    if i > 0 and _name(tokens[i - 1]) == "do":  # ON CONFLICT DO UPDATE: the INSERT's table
        inserts = [k for k in range(i) if _name(tokens[k]) == "insert"]
        table, _ = _table_at(tokens, inserts[-1] + 2) if inserts else ("", 0)
        follows_set = i + 1 < len(tokens) and _name(tokens[i + 1]) == "set"
        return i + 2 if table == "campaigns" and follows_set else None
    table, k = _table_at(tokens, i + 1)
    if table != "campaigns":
        return None
    if k < len(tokens) and _name(tokens[k]) == "as":
        k += 2
    elif k < len(tokens) and _name(tokens[k]) != "set":
        k += 1  # an alias
    return k + 1 if k < len(tokens) and _name(tokens[k]) == "set" else None


def _assigned(tokens: list[str], k: int) -> set[str]:
    """The columns the SET list starting at `k` assigns."""
    columns: set[str] = set()
    depth, start = 0, True
    while k < len(tokens):
        token = tokens[k]
        if depth == 0 and (_name(token) in SET_LIST_ENDS or token in CLOSE):
            break
        if start:
            target: list[str] = []
            while k < len(tokens) and tokens[k] != "=":
                target.append(tokens[k])
                k += 1
            names = [_name(t) for t in target if t not in {"(", ")", ",", "."}]
            columns |= {names[-1]} if target[:1] != ["("] and names else set(names)
            start = False
        elif token in OPEN:
            depth += 1
        elif token in CLOSE:
            depth -= 1
        elif token == "," and depth == 0:
            start = True
        k += 1
    return columns


def sets_campaign_state(sql: str) -> bool:
    """Whether `sql` contains a statement that assigns `campaigns.state`."""
    tokens = _tokens(sql)
    for i, token in enumerate(tokens):
        if _name(token) != "update":
            continue
        k = _set_after_update(tokens, i)
        if k is not None and "state" in _assigned(tokens, k):
            return True
    return False
