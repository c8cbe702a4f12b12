"""Email templates: Jinja2's sandbox, strict variables, an unsubscribe link in every email.

Merge variables are the lead's fields (`email`, `first_name`, `last_name`,
`country`, `tags`) and its attributes (`attributes.plan`). `unsubscribe_url`
is always defined; when a body does not place it, a footer is appended.
A template is validated when saved: syntax errors and unknown variables are
refused with the part and line at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

LEAD_FIELDS = frozenset({"email", "first_name", "last_name", "country", "tags", "attributes"})
ALWAYS_DEFINED = frozenset({"unsubscribe_url"})
KNOWN_VARIABLES = LEAD_FIELDS | ALWAYS_DEFINED

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_html_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
_GLOBALS: dict[str, Any] = dict(_env.globals)  # the same defaults in both environments


class TemplateError(ValueError):
    """A template that cannot be saved or rendered, with the part and line at fault."""

    def __init__(self, part: str, message: str, line: int | None = None) -> None:
        where = f"{part} line {line}" if line is not None else part
        super().__init__(f"{where}: {message}")
        self.part = part
        self.line = line
        self.message = message


@dataclass(frozen=True)
class TemplateSource:
    """What a user saves."""

    subject: str
    html_body: str
    text_body: str


@dataclass(frozen=True)
class RenderedEmail:
    """One email's subject and bodies, ready to send."""

    subject: str
    html: str
    text: str


def _first_line_of(ast: nodes.Template, name: str) -> int | None:
    for node in ast.find_all(nodes.Name):
        if node.name == name:
            return int(node.lineno)
    return None


# What rendering a valid template can still raise for a given lead's values
# (`{{ first_name + 1 }}`, `{{ 1 / attributes.n }}`, `{{ tags[9] }}`).
RENDER_ERRORS = (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError, LookupError)


def _render(template: Template, context: dict[str, Any]) -> str:
    """`template.render(context)` at half the cost, for the per-recipient hot path.

    `Template.render` copies the template's globals (a ChainMap of the environment's
    ~10) into a new dict on every call; here the environment's globals are merged once
    (`_GLOBALS`) and the context is shared with Jinja, which does not modify it. The
    sandbox checks are compiled into `root_render_func`, so they apply as before.
    """
    ctx = template.new_context({**_GLOBALS, **context}, shared=True)
    return str(template.environment.concat(template.root_render_func(ctx)))


def _check_part(part: str, source: str, html: bool) -> Template:
    env = _html_env if html else _env
    try:  # compiling also finds what parsing does not (an unknown filter or test)
        ast = env.parse(source)
        undeclared = meta.find_undeclared_variables(ast)
        compiled = env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(part, exc.message or "syntax error", exc.lineno) from exc
    for name in sorted(undeclared - KNOWN_VARIABLES):
        raise TemplateError(
            part,
            f"unknown variable '{name}' (known: {', '.join(sorted(KNOWN_VARIABLES))})",
            _first_line_of(ast, name),
        )
    return compiled


class CompiledTemplate:
    """A validated template, compiled once and rendered per lead."""

    def __init__(self, source: TemplateSource) -> None:
        self.source = source
        self._subject = _check_part("subject", source.subject, html=False)
        self._html = _check_part("html_body", source.html_body, html=True)
        self._text = _check_part("text_body", source.text_body, html=False)
        self._html_places_link = "unsubscribe_url" in source.html_body
        self._text_places_link = "unsubscribe_url" in source.text_body

    def render(self, merge_vars: Mapping[str, Any], unsubscribe_url: str) -> RenderedEmail:
        """Render for one lead; raises `TemplateError` if a lead lacks a variable used."""
        context = {"attributes": {}, "tags": [], **merge_vars, "unsubscribe_url": unsubscribe_url}
        try:
            subject = _render(self._subject, context).strip()
            html = _render(self._html, context)
            text = _render(self._text, context)
        except RENDER_ERRORS as exc:
            raise TemplateError("render", str(exc)) from exc
        if html and not self._html_places_link:
            html += f'\n<p style="font-size:12px"><a href="{unsubscribe_url}">Unsubscribe</a></p>'
        if not self._text_places_link:
            text += f"\n\nUnsubscribe: {unsubscribe_url}\n"
        return RenderedEmail(subject=subject, html=html, text=text)
