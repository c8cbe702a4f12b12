"""Walking a statement's JSON syntax tree (as `parseQueryToJSON` gives it).

A node is a dict with a `type` (`SelectQuery`, `Function`, `TableExpression`, ...);
its children sit under named keys (`select`, `where`, `table_function`, ...) or in
lists. `nodes` visits every node with the key it hangs from and its parent, so a
check can tell a table function (`table_function` of a `TableExpression`) from a
function in an expression.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Tree = dict[str, Any]


@dataclass(frozen=True)
class Visit:
    """One node, the key it hangs from (lists inherit their key) and its parent node."""

    node: Tree
    key: str
    parent: Tree | None


def nodes(root: Tree) -> Iterator[Visit]:
    """Every node of `root`, depth first, `root` included."""
    stack: list[tuple[Any, str, Tree | None]] = [(root, "", None)]
    while stack:
        value, key, parent = stack.pop()
        if isinstance(value, list):
            stack.extend((item, key, parent) for item in reversed(value))
        elif isinstance(value, dict):
            if "type" in value:
                yield Visit(value, key, parent)
                parent = value
            stack.extend((child, name, parent) for name, child in reversed(value.items()))


def of_type(root: Tree, kind: str) -> list[Tree]:
    """The nodes of `root` whose type is `kind`."""
    return [visit.node for visit in nodes(root) if visit.node["type"] == kind]


def function_name(node: Tree) -> str:
    """A function's name, lower-cased: checks compare without case, so `FILE(...)` is
    `file(...)`."""
    return str(node.get("name", "")).lower()
