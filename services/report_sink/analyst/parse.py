"""Asking ClickHouse's parser about a statement: its tree as JSON, and back to SQL.

`parseQueryToJSON` parses one statement (it refuses several) with the engine's
own grammar and limits, and returns its syntax tree as JSON; `formatQueryFromJSON`
turns a (checked, possibly rewritten) tree back into SQL. The statement travels as
a bound parameter, so it is data to the parser, never part of the query that runs
the parser. Statements whose tree has no JSON form (DESCRIBE, SHOW CREATE, ...)
are shown as `EXPLAIN AST` text instead, which only parses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError

from services.report_sink.analyst.errors import QueryRefused
from shared.clickhouse import AsyncClickHouse

Tree = dict[str, Any]
NO_JSON_FORM = 36  # BAD_ARGUMENTS: parsed, but a node has no JSON form (a syntax error is 62)


_CODE = re.compile(r"Code: (\d+)\.")


def error_code(exc: ClickHouseError) -> int | None:
    """The engine's error code (chDB sets it; over HTTP it leads the message)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    found = _CODE.search(str(exc))  # the first one is the engine's, before any echoed text
    return int(found.group(1)) if found else None


def first_line(exc: Exception, limit: int = 500) -> str:
    """The engine's message, on one line, without its stack of scopes."""
    text = str(exc).split("\n", 1)[0]
    return text.split(" In scope ", 1)[0].rstrip(":. ")[:limit]


async def parse_tree(client: AsyncClickHouse, sql: str) -> Tree | None:
    """The statement's tree; None when it parses but has no JSON form; `QueryRefused` for
    a syntax error or several statements."""
    try:
        rows = await client.rows("SELECT parseQueryToJSON({sql:String})", {"sql": sql})
    except ClickHouseError as exc:
        if error_code(exc) == NO_JSON_FORM:
            return None
        raise QueryRefused(f"cannot parse: {first_line(exc)}") from exc
    tree: Tree = json.loads(rows[0][0])
    return tree


async def explain_ast(client: AsyncClickHouse, sql: str) -> list[str]:
    """`EXPLAIN AST` of one statement: one line per node.

    The engine runs every statement of a text it is given, so what follows `EXPLAIN AST`
    is the statement as `formatQuerySingleLine` rebuilt it (which refuses several), never
    the text as sent.
    """
    try:
        rows = await client.rows("SELECT formatQuerySingleLine({sql:String})", {"sql": sql})
        text = await client.raw(f"EXPLAIN AST {rows[0][0]}", fmt="TabSeparatedRaw")
    except ClickHouseError as exc:
        raise QueryRefused(f"cannot parse: {first_line(exc)}") from exc
    return text.decode().splitlines()


async def format_tree(client: AsyncClickHouse, tree: Tree) -> str:
    """The SQL of `tree`, as the engine formats it."""
    text = json.dumps(tree)
    rows = await client.rows("SELECT formatQueryFromJSON({tree:String})", {"tree": text})
    sql: str = rows[0][0]
    return sql
