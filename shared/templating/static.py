"""Save-time checks: what a template's source shows it would cost, refused before it is stored.

Refused, with the part, line and limit:

- constructs that would escape the per-output metering: macros, call and
  filter blocks, block assignments, includes, imports, inheritance,
  `{% autoescape %}` and recursive loops (rendering inside those is buffered);
- variables that are not a lead field or `unsubscribe_url`;
- more than `max_nodes` expressions and statements in a part (compiling costs
  time per node), blocks nested deeper than `max_nesting`, expressions deeper
  than `max_expression_depth`, list and dict literals longer than `max_literal_items`;
- loops whose sizes are known from the source (`range(100000)`, a literal list
  or text) and whose nesting multiplies past `max_iterations`;
- constant repetitions (`"x" * 10**9`) and powers too large to build.

The render budget still applies at render time to everything these miss.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import meta, nodes

from shared.templating.constant import MAX_STATIC, loop_size, repeated_size, static_int
from shared.templating.errors import TemplateError
from shared.templating.lead import KNOWN_VARIABLES
from shared.templating.limits import MAX_NUMBER_BITS, TemplateLimits

REFUSED: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.AssignBlock: "{% set %}…{% endset %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
}
BLOCKS = (nodes.For, nodes.If, nodes.With)


@dataclass(frozen=True)
class _Where:
    blocks: int = 0
    depth: int = 0
    loops: tuple[int, ...] = ()


class _Checker:
    def __init__(self, part: str, limits: TemplateLimits) -> None:
        self.part = part
        self.limits = limits

    def fail(self, node: nodes.Node, message: str) -> TemplateError:
        return TemplateError(self.part, message, node.lineno)

    def walk(self, root: nodes.Node) -> None:
        # Iterative: a chain of filters parses into a tree deeper than Python's recursion limit.
        todo = [(root, _Where())]
        seen = 0
        while todo:
            node, where = todo.pop()
            seen += 1
            if seen > self.limits.max_nodes:
                raise self.fail(
                    node,
                    f"more than {self.limits.max_nodes:,} expressions and statements (max_nodes)",
                )
            self.check(node, where)
            if isinstance(node, BLOCKS):
                where = _Where(where.blocks + 1, where.depth, where.loops)
            if isinstance(node, nodes.For):
                loops = (*where.loops, loop_size(node.iter) or 1)
                where = _Where(where.blocks, where.depth, loops)
            if isinstance(node, nodes.Expr):
                where = _Where(where.blocks, where.depth + 1, where.loops)
            todo.extend((child, where) for child in node.iter_child_nodes())

    def check(self, node: nodes.Node, where: _Where) -> None:
        refused = REFUSED.get(type(node))
        if refused is not None:
            raise self.fail(node, f"{refused} is not allowed in templates (docs/templates.md)")
        if isinstance(node, nodes.For) and node.recursive:
            raise self.fail(node, "recursive loops are not allowed in templates")
        limits = self.limits
        if isinstance(node, BLOCKS) and where.blocks >= limits.max_nesting:
            raise self.fail(node, f"blocks nest deeper than {limits.max_nesting} (max_nesting)")
        if isinstance(node, nodes.Expr) and where.depth >= limits.max_expression_depth:
            raise self.fail(
                node,
                f"an expression nests deeper than {limits.max_expression_depth} "
                "(max_expression_depth)",
            )
        if isinstance(node, nodes.List | nodes.Tuple | nodes.Dict):
            items = len(node.items)
            if items > limits.max_literal_items:
                raise self.fail(
                    node,
                    f"a literal of {items:,} items, more than {limits.max_literal_items:,} "
                    "(max_literal_items)",
                )
        if isinstance(node, nodes.For):
            self.check_loops(node, where)
        if isinstance(node, nodes.Mul | nodes.Pow):
            self.check_constant(node)

    def check_loops(self, node: nodes.For, where: _Where) -> None:
        sizes = (*where.loops, loop_size(node.iter) or 1)
        total = 1
        for size in sizes:
            total = min(total * size, MAX_STATIC)
        if total > self.limits.max_iterations:
            shown = " × ".join(f"{size:,}" for size in sizes if size > 1)
            raise self.fail(
                node,
                f"loops run {total:,} iterations ({shown}), more than the "
                f"{self.limits.max_iterations:,} allowed (max_iterations)",
            )

    def check_constant(self, node: nodes.Mul | nodes.Pow) -> None:
        if isinstance(node, nodes.Pow):
            base, exponent = static_int(node.left), static_int(node.right)
            if base is None or exponent is None or exponent <= 0:
                return
            if base.bit_length() * exponent > MAX_NUMBER_BITS:
                raise self.fail(node, "a power larger than about 4,300 digits")
            return
        size = repeated_size(node)
        if size is not None and size > self.limits.max_built_chars:
            raise self.fail(
                node,
                f"builds {size:,} characters, more than the {self.limits.max_built_chars:,} "
                "allowed (max_built_chars)",
            )


def check_source(part: str, ast: nodes.Template, limits: TemplateLimits) -> None:
    """Raise `TemplateError` for the first thing in `ast` that the limits refuse."""
    _Checker(part, limits).walk(ast)


def check_variables(part: str, ast: nodes.Template) -> None:
    """Raise `TemplateError` for a variable that is not a lead field or `unsubscribe_url`."""
    for name in sorted(meta.find_undeclared_variables(ast) - KNOWN_VARIABLES):
        line = next((int(n.lineno) for n in ast.find_all(nodes.Name) if n.name == name), None)
        known = ", ".join(sorted(KNOWN_VARIABLES))
        raise TemplateError(part, f"unknown variable '{name}' (known: {known})", line)
