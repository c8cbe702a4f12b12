"""A template compiled once and rendered per lead, every render under the budget.

Each part is compiled by `parts.py`. Rendering pulls the output piece by piece
from Jinja's generator, so the output limit and the deadline are checked as it
streams; one `Meter` covers the whole email; what goes wrong becomes a
`RenderError` with the part, the template line, whose fault it is and, for a
missing value, its path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgspec
from jinja2 import Template
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaError

from shared.templating.errors import (
    BudgetExceeded,
    MissingVariable,
    RenderError,
    RenderErrorKind,
)
from shared.templating.lead import template_context
from shared.templating.limits import TemplateLimits, default_limits
from shared.templating.meter import CPU_TIME, Clock, Meter, metering
from shared.templating.parts import TEXT_ENV, compile_part, optional_part, plain_part
from shared.templating.plain import PlainPart

GLOBALS = dict(TEXT_ENV.globals)  # the same in both environments

# What rendering a valid template can still raise for a given lead's values
# (`{{ first_name + 1 }}`, `{{ 1 / attributes.n }}`, `{{ tags[9] }}`).
LEAD_DATA_ERRORS = (JinjaError, TypeError, ValueError, ArithmeticError, LookupError)


@dataclass(frozen=True)
class TemplateSource:
    """What a user saves."""

    subject: str
    html_body: str
    text_body: str


class RenderedEmail(msgspec.Struct, frozen=True, gc=False):
    """One email's subject and bodies, ready to send (a struct: one per email, made in C)."""

    subject: str
    html: str
    text: str


def _template_line(template: Template, tb: TracebackType | None) -> int | None:
    """The template line of the innermost frame of `template`'s code in a traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_globals.get("__jinja_template__") is template:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


def _paused_line(template: Template, output: Iterator[str]) -> int | None:
    """The template line an output generator stopped at (where its last chunk came from)."""
    frame = getattr(output, "gi_frame", None)
    return None if frame is None else template.get_corresponding_lineno(frame.f_lineno)


def _render_part(part: str, template: Template, names: dict[str, Any], meter: Meter) -> str:
    """Stream one part's output through the meter; raises `RenderError`.

    The context is made directly (not through `Template.render`), sharing `names`
    (globals and lead variables, merged once per email): Jinja never writes to it.
    """
    env = template.environment
    ctx = env.context_class(env, names, template.name, template.blocks)
    chunks: list[str] = []
    output = template.root_render_func(ctx)
    try:
        for chunk in output:
            meter.emit(len(chunk))
            chunks.append(chunk)
    except BudgetExceeded as exc:
        line = _template_line(template, exc.__traceback__) or _paused_line(template, output)
        raise RenderError(part, str(exc), line, RenderErrorKind.BUDGET, limit=exc.limit) from exc
    except MissingVariable as exc:
        line = _template_line(template, exc.__traceback__)
        message = exc.message or "a value is missing"
        raise RenderError(part, message, line, RenderErrorKind.LEAD_DATA, exc.variable) from exc
    except (SecurityError, RecursionError) as exc:
        line = _template_line(template, exc.__traceback__)
        raise RenderError(part, str(exc), line, RenderErrorKind.TEMPLATE) from exc
    except LEAD_DATA_ERRORS as exc:
        line = _template_line(template, exc.__traceback__)
        raise RenderError(part, str(exc), line, RenderErrorKind.LEAD_DATA) from exc
    return str(env.concat(chunks))


def one_line(subject: str) -> str:
    """A rendered subject as the one header line it must be: every line break lead data
    put there (CR, LF or any other `str.splitlines` boundary) becomes one space, blank
    lines and other control characters (Unicode category Cc, tab kept) go, so a merge
    value can neither add a header nor end the header block in any provider's message;
    ends are trimmed."""
    if subject.isprintable():  # nearly every subject: no break, no control character
        return subject.strip()
    line = " ".join(filter(None, (part.strip() for part in subject.splitlines())))
    return "".join(c for c in line if c == "\t" or unicodedata.category(c) != "Cc").strip()


class CompiledTemplate:
    """A validated template, compiled once and rendered per lead."""

    def __init__(self, source: TemplateSource, limits: TemplateLimits | None = None) -> None:
        self.source = source
        self.limits = limits or default_limits()
        self._subject = compile_part("subject", source.subject, False, self.limits)
        self._html = optional_part("html_body", source.html_body, True, self.limits)
        self._text = optional_part("text_body", source.text_body, False, self.limits)
        self._html_places_link = "unsubscribe_url" in source.html_body
        self._text_places_link = "unsubscribe_url" in source.text_body
        # every part text and merge fields: rendered without Jinja when the lead's values allow
        self._plain = self._plain_parts(source)

    @staticmethod
    def _plain_parts(source: TemplateSource) -> tuple[PlainPart, PlainPart, PlainPart] | None:
        subject = plain_part(source.subject, False)
        html = plain_part(source.html_body, True)  # an empty body: a part of no pieces
        text = plain_part(source.text_body, False)
        if subject is None or html is None or text is None:
            return None
        return subject, html, text

    def _render_plain(
        self, merge_vars: Mapping[str, Any], unsubscribe_url: str
    ) -> tuple[str, str, str] | None:
        """The parts without Jinja (`plain.py`), within the output budget; None: use Jinja."""
        if self._plain is None:
            return None
        subject_part, html_part, text_part = self._plain
        room = self.limits.max_output_chars
        subject = subject_part.render(merge_vars, unsubscribe_url, room)
        if subject is None:
            return None
        html = html_part.render(merge_vars, unsubscribe_url, room - len(subject))
        if html is None:
            return None
        text = text_part.render(merge_vars, unsubscribe_url, room - len(subject) - len(html))
        return None if text is None else (one_line(subject), html, text)

    def render(
        self, merge_vars: Mapping[str, Any], unsubscribe_url: str, *, clock: Clock = CPU_TIME
    ) -> RenderedEmail:
        """Render for one lead under the budget; raises `RenderError` (part, line, kind)."""
        plain = self._render_plain(merge_vars, unsubscribe_url)
        if plain is not None:
            subject, html, text = plain
        else:
            subject, html, text = self._render_jinja(merge_vars, unsubscribe_url, clock)
        if html and not self._html_places_link:
            html += f'\n<p style="font-size:12px"><a href="{unsubscribe_url}">Unsubscribe</a></p>'
        if not self._text_places_link:
            text += f"\n\nUnsubscribe: {unsubscribe_url}\n"
        return RenderedEmail(subject=subject, html=html, text=text)

    def _render_jinja(
        self, merge_vars: Mapping[str, Any], unsubscribe_url: str, clock: Clock
    ) -> tuple[str, str, str]:
        names = {**GLOBALS, **template_context(merge_vars, unsubscribe_url)}
        with metering(Meter(self.limits, clock)) as meter:
            subject = one_line(_render_part("subject", self._subject, names, meter))
            html = _render_part("html_body", self._html, names, meter) if self._html else ""
            text = _render_part("text_body", self._text, names, meter) if self._text else ""
        return subject, html, text
