"""An account's SQL: every table it reads becomes a subquery filtered on its account.

    SELECT ... FROM email_events AS e JOIN lead_status USING lead_id
      becomes
    SELECT ... FROM (SELECT <columns> FROM db.email_events
                     WHERE account_id = toUUID('<the caller's account>')) AS e
              JOIN (SELECT ... FROM db.lead_status FINAL? WHERE ...) AS lead_status ...

The rewrite is done on the engine's syntax tree, at every table reference however
deep (subqueries, joins, UNION, WITH); a FINAL on the reference moves into the
subquery. Anything the rewrite could not cover is refused instead (ClickHouse's row
policies would be the engine's own way, but the embedded engine's only user may not
create them): another database or `system.*`, a table other than the account's
report tables, a WITH name that is also a table's name (it could reach that table
from a scope where the WITH is not visible), `IN table_name`, and statements other
than SELECT. Table functions and other functions are limited by `policy.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from services.report_sink.analyst.errors import QueryRefused
from services.report_sink.analyst.tree import Tree, function_name, nodes, of_type

READABLE = ("email_events", "lead_status", "campaign_hourly", "send_outcomes", "lead_steps")
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
IN_FUNCTIONS = {"in", "notin", "globalin", "globalnotin", "nullin", "notnullin"}
IN_FUNCTIONS |= {"globalnullin", "globalnotnullin"}


@dataclass(frozen=True)
class ScopedTable:
    """The parsed tree of `SELECT <columns> FROM db.table WHERE account_id = <placeholder>`."""

    select: Tree

    def for_account(self, account: UUID, alias: str, final: bool) -> Tree:
        """A `Subquery` reading this table's rows of `account`, named `alias`."""
        select = copy.deepcopy(self.select)
        for node in of_type(select, "Literal"):
            if node["value"].get("value") == PLACEHOLDER:
                node["value"]["value"] = str(account)
        if final:
            for expression in of_type(select, "TableExpression"):
                expression["final"] = True
        return {"type": "Subquery", "alias": alias, "children": [select]}


def scope_to_account(
    tree: Tree, account: UUID, tables: Mapping[str, ScopedTable], taken: set[str]
) -> None:
    """Rewrite `tree` in place so it reads `account`'s rows only; `QueryRefused` when it
    cannot. `taken` is every table name of the database (WITH names may not be one)."""
    if tree["type"] != "SelectWithUnionQuery":
        raise QueryRefused("an account's SQL is one SELECT (or WITH ... SELECT)")
    defined = {str(node["name"]) for node in of_type(tree, "WithElement") if "name" in node}
    if defined & taken:
        raise QueryRefused(f"WITH name {sorted(defined & taken)[0]!r} is the name of a table")
    _refuse_in_table(tree)
    for visit in nodes(tree):
        if visit.node["type"] == "TableIdentifier" and visit.key != "database_and_table_name":
            raise QueryRefused("a table may be named only in FROM or JOIN")
    for expression in of_type(tree, "TableExpression"):
        _rewrite(expression, account, tables, defined)


def _rewrite(
    expression: Tree, account: UUID, tables: Mapping[str, ScopedTable], defined: set[str]
) -> None:
    identifier = expression.get("database_and_table_name")
    if identifier is None:
        return  # a subquery (rewritten on its own) or a table function (policy.py)
    parts = identifier.get("name_parts") or [identifier["name"]]
    name = str(parts[-1])
    if len(parts) > 1:
        raise QueryRefused(
            f"{'.'.join(parts)}: tables are named without a database; only "
            f"{', '.join(READABLE)} can be read"
        )
    if name in defined:
        return  # a WITH subquery of the statement, rewritten where it is defined
    if name not in tables:
        raise QueryRefused(f"table {name!r} cannot be read: only {', '.join(READABLE)}")
    alias, final = identifier.get("alias", name), bool(expression.pop("final", False))
    del expression["database_and_table_name"]
    expression["subquery"] = tables[name].for_account(account, alias, final)


def _refuse_in_table(tree: Tree) -> None:
    """`x IN some_table` reads a table by name outside FROM: refused (write IN (SELECT ...))."""
    for function in of_type(tree, "Function"):
        if function_name(function) in IN_FUNCTIONS:
            arguments = function.get("arguments", {}).get("children", [])
            if len(arguments) == 2 and arguments[1].get("type") == "Identifier":
                raise QueryRefused("IN <table name> is not allowed: write IN (SELECT ...)")
