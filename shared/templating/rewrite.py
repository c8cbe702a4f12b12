"""Compile-time rewriting of a parsed template, so loops, `~` and literals reach a hook.

Jinja's sandbox has no hook for a loop iteration, for `~` or for building a
list or dict from variables, and each can burn CPU or memory on its own
(`{% for a in s %}{% for b in s %}…`, `{% set s = s ~ s %}`, `[x, x, x]`
nested). Before the template is compiled, every `{% for %}` iterates its items
through the filter `LOOP_FILTER`, every `a ~ b` becomes `CONCAT_FILTER` and every
list, tuple or dict holding a non-constant goes through `BUILT_FILTER`; those filters
(environment.py) step the meter or charge what is built. Filters compile to
direct calls, cheaper than the sandbox's `call`; their names are not
identifiers, so a template cannot name them itself.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

LITERALS = (nodes.List, nodes.Tuple, nodes.Dict)
LOOP_FILTER, CONCAT_FILTER, BUILT_FILTER = "fanout.loop", "fanout.concat", "fanout.built"


def _filter(name: str, args: list[nodes.Node], lineno: int) -> nodes.Filter:
    return nodes.Filter(args[0], name, args[1:], [], None, None, lineno=lineno)


def _is_constant(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Const):
        return True
    if isinstance(node, nodes.Pair):
        return _is_constant(node.key) and _is_constant(node.value)
    if isinstance(node, LITERALS):
        return all(_is_constant(child) for child in node.iter_child_nodes())
    return False


class _Budgeted(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(LOOP_FILTER, [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(CONCAT_FILTER, list(node.nodes), node.lineno)

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load" or _is_constant(node):
            return node
        return _filter(BUILT_FILTER, [node], node.lineno)

    visit_List = visit_Tuple = visit_Dict = _literal


def budgeted(ast: nodes.Template) -> nodes.Template:
    """`ast` rewritten in place (and returned) so every loop, `~` and literal is metered."""
    result = _Budgeted().visit(ast)
    assert isinstance(result, nodes.Template)
    return result
