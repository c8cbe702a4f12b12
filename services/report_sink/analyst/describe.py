"""DESCRIBE, whose syntax tree has no JSON form: read from `EXPLAIN AST` instead.

Only the plain form is accepted, `DESCRIBE [TABLE] name` or `db.name` with simple
names (letters, digits, underscores): its tree is exactly

    DescribeQuery (children 1|2)
     TableExpression (children 1)
      TableIdentifier db.name
     Identifier TabSeparatedRaw        (the output format the client adds)

so DESCRIBE of a table function (which would read a file or a URL to infer its
columns), of a subquery, with SETTINGS or anything else is refused. What runs is
`DESCRIBE TABLE` rebuilt from the checked name.
"""

from __future__ import annotations

import re

from services.report_sink.analyst.errors import QueryRefused

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_HEAD = re.compile(r"DescribeQuery \(children (\d+)\)")
EXPRESSION = " TableExpression (children 1)"
IDENTIFIER = "  TableIdentifier "
CLIENT_FORMAT = " Identifier TabSeparatedRaw"


def described_table(lines: list[str]) -> tuple[str, ...]:
    """The name parts of the table a plain DESCRIBE names; `QueryRefused` otherwise."""
    head = _HEAD.fullmatch(lines[0]) if lines else None
    if head is None:
        raise QueryRefused(
            "this kind of statement is not allowed: only SELECT/WITH, SHOW, DESCRIBE or EXPLAIN"
        )
    expression, identifier, *tail = [*lines[1:], "", ""]
    table = identifier.removeprefix(IDENTIFIER)
    children = {"1": [], "2": [CLIENT_FORMAT]}.get(head.group(1))
    plain = (
        expression == EXPRESSION
        and identifier.startswith(IDENTIFIER)
        and [line for line in tail if line] == children
        and _NAME.fullmatch(table) is not None
    )
    if not plain:
        raise QueryRefused("DESCRIBE is allowed of a table named plainly (DESCRIBE TABLE name)")
    return tuple(table.split("."))


def describe_sql(parts: tuple[str, ...]) -> str:
    """`DESCRIBE TABLE` of the checked name parts (quoted)."""
    return "DESCRIBE TABLE " + ".".join(f"`{part}`" for part in parts)
