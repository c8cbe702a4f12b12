"""What a statement may be: one read of an allowed kind, touching no file, network or setting.

Decided on the engine's own syntax tree, by allow-list where it can be:

- the statement is SELECT (WITH ... SELECT, UNION, INTERSECT, EXCEPT included), SHOW
  TABLES/DATABASES/COLUMNS/SETTINGS, EXPLAIN of a SELECT, or DESCRIBE (`describe.py`);
  KILL, SYSTEM, SET, INSERT, DDL, ... are refused by kind;
- below it, only SELECT nodes: no other statement hides inside;
- no INTO OUTFILE (it writes a file on embedded chDB), no FORMAT (answers are JSON),
  no SETTINGS (the endpoint's limits stand); EXPLAIN's own options are allowed;
- table functions: only those that make rows from their arguments (numbers, zeros,
  generate_series, values); file, url, s3, remote, mysql, postgresql, hdfs, input,
  executable, merge, cluster, ... are refused;
- functions that read files, other servers or named tables and dictionaries (file,
  filesystem*, dictGet*, joinGet*, hasColumnInTable, catboostEvaluate) are refused.
"""

from __future__ import annotations

from services.report_sink.analyst.errors import QueryRefused
from services.report_sink.analyst.tree import Tree, Visit, function_name, nodes

STATEMENTS = {
    "SelectWithUnionQuery": "SELECT",
    "ExplainQuery": "EXPLAIN",
    "ShowTablesQuery": "SHOW",
    "ShowColumnsQuery": "SHOW",
}
NESTED = {"SelectWithUnionQuery", "SelectQuery", "SelectIntersectExceptQuery", "SetQuery"}
NESTED |= {"TablesInSelectQuery"}  # the FROM clause, not a statement
EXPLAIN_KINDS = {
    "EXPLAIN",
    "EXPLAIN AST",
    "EXPLAIN SYNTAX",
    "EXPLAIN QUERY TREE",
    "EXPLAIN PIPELINE",
    "EXPLAIN ESTIMATE",
}
OUTPUT_CLAUSES = {
    "out_file": "INTO OUTFILE is not allowed: the endpoint only reads",
    "compression": "INTO OUTFILE is not allowed: the endpoint only reads",
    "format_ast": "FORMAT is not allowed: answers are JSON",
}
ROW_MAKERS = {"numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateseries"}
ROW_MAKERS |= {"values"}
OUTSIDE_READERS = ("file", "dict", "joinget", "hascolumnintable", "catboost")
ALLOWED = "SELECT/WITH, SHOW, DESCRIBE or EXPLAIN"


def check_read_only(tree: Tree) -> None:
    """Raise `QueryRefused` naming the first thing `tree` may not do."""
    _check_statement(tree)
    for visit in nodes(tree):
        if visit.parent is not None:
            _check_nested(visit)
        for key, reason in OUTPUT_CLAUSES.items():
            if key in visit.node:
                raise QueryRefused(reason)
        if visit.node["type"] == "Function":
            _check_function(visit)


def _check_statement(tree: Tree) -> None:
    kind = tree["type"]
    if kind not in STATEMENTS:
        raise QueryRefused(f"{_statement_name(tree)} is not allowed: only {ALLOWED}")
    if kind == "ExplainQuery":
        explained = tree.get("query", {}).get("type")
        if tree.get("kind") not in EXPLAIN_KINDS or explained != "SelectWithUnionQuery":
            raise QueryRefused(f"{tree.get('kind', 'EXPLAIN')} is allowed of a SELECT only")


def _check_nested(visit: Visit) -> None:
    kind = visit.node["type"]
    if kind == "SetQuery":
        parent = visit.parent or {}
        if not (visit.key == "settings" and parent.get("type") == "ExplainQuery"):
            raise QueryRefused("SETTINGS is not allowed: the endpoint's limits apply")
    elif kind.endswith("Query") and kind not in NESTED:
        raise QueryRefused(f"{_statement_name(visit.node)} is not allowed inside a query")


def _check_function(visit: Visit) -> None:
    name = function_name(visit.node)
    if visit.key == "table_function":
        if name not in ROW_MAKERS:
            raise QueryRefused(
                f"table function {name}() is not allowed: it reads files, other servers or "
                f"other tables (allowed: {', '.join(sorted(ROW_MAKERS))})"
            )
    elif name.startswith(OUTSIDE_READERS):
        raise QueryRefused(
            f"function {name}() is not allowed: it reads files, dictionaries or other tables"
        )


def _statement_name(node: Tree) -> str:
    """`SystemQuery` -> `SYSTEM`, `KillQueryQuery` of a mutation -> `KILL MUTATION`: the
    statement as a person writes it."""
    kind = str(node["type"])
    if kind == "KillQueryQuery":
        return f"KILL {str(node.get('kill_type', 'query')).upper()}"
    words: list[str] = []
    for char in kind.removesuffix("Query") or kind:
        if char.isupper() and words:
            words.append(" ")
        words.append(char.upper())
    return "".join(words)
