"""One part of a template (subject, HTML body or text body): parsed, checked, compiled.

Parsing catches what Python itself refuses (nesting past the recursion limit, an
integer literal past 4,300 digits); `static.py` checks what the source shows it
would cost; unknown filters and tests are found even inside `{% if %}` blocks
(where Jinja would only fail at render time); then the tree is rewritten so loops
and joins are metered (`rewrite.py`) and compiled in the budgeted sandbox.
"""

from __future__ import annotations

from jinja2 import Template, TemplateSyntaxError, nodes

from shared.templating.environment import BudgetedEnvironment
from shared.templating.errors import TemplateError
from shared.templating.limits import TemplateLimits
from shared.templating.plain import PlainPart
from shared.templating.rewrite import budgeted
from shared.templating.static import check_source, check_variables

TEXT_ENV = BudgetedEnvironment(autoescape=False)
HTML_ENV = BudgetedEnvironment(autoescape=True)


def _parse(part: str, source: str, env: BudgetedEnvironment) -> nodes.Template:
    try:
        return env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(part, exc.message or "syntax error", exc.lineno) from exc
    except RecursionError as exc:
        raise TemplateError(part, "nests too deeply to read (max_expression_depth)") from exc
    except ValueError as exc:  # an integer literal longer than Python reads (4,300 digits)
        raise TemplateError(part, str(exc)) from exc


def _check_names(part: str, ast: nodes.Template, env: BudgetedEnvironment) -> None:
    # Jinja only finds unknown filters and tests outside {% if %} blocks when compiling.
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        is_filter = isinstance(node, nodes.Filter)
        if node.name not in (env.filters if is_filter else env.tests):
            kind = "filter" if is_filter else "test"
            raise TemplateError(part, f"No {kind} named '{node.name}'", node.lineno)


def compile_part(part: str, source: str, html: bool, limits: TemplateLimits) -> Template:
    """One part checked and compiled; raises `TemplateError` with the part and line at fault."""
    env = HTML_ENV if html else TEXT_ENV
    ast = _parse(part, source, env)
    check_source(part, ast, limits)  # first: it bounds the depth the other walks recurse to
    _check_names(part, ast, env)  # before variables: Jinja's analysis fails on unknown filters
    check_variables(part, ast)
    budgeted(ast).set_environment(env)
    try:
        return env.from_string(ast)
    except TemplateSyntaxError as exc:
        raise TemplateError(part, exc.message or "syntax error", exc.lineno) from exc
    except (RecursionError, SyntaxError) as exc:
        raise TemplateError(part, "too complex to compile (max_nesting)") from exc


def optional_part(part: str, source: str, html: bool, limits: TemplateLimits) -> Template | None:
    """An empty body needs no template (nothing to check, nothing to render)."""
    return compile_part(part, source, html, limits) if source else None


def plain_part(source: str, html: bool) -> PlainPart | None:
    """The part as text and merge fields (`plain.py`), for a source `compile_part` took;
    None when it holds anything else."""
    return PlainPart.of(_parse("plain", source, HTML_ENV if html else TEXT_ENV), html=html)
