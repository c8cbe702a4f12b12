"""Merge-field parts rendered without Jinja's runtime: text and `{{ field }}`, nothing else.

Most parts of most templates are text with a few merge fields ("Hello {{ first_name }}",
"{{ attributes.company }}"). Rendering one through Jinja costs a context, a generator
and the meter's charges per chunk, several µs per part and email; what it produces is
known without any of that: the text, and each field's value (HTML-escaped in the HTML
body). A `PlainPart` is that: the part's pieces read from its parsed source once,
joined per email.

It renders only what Jinja would render the same way without a budget ever running
out or an error being possible, and answers None for anything else, so the caller
renders that email through Jinja (`compiled.py`), which raises the error with its
part, line and limit:

- a field whose value is not text (None, a number, a list: Jinja's finalize and
  conversion decide how those print), or that the lead lacks;
- an output longer than what the budget leaves (a value longer than what is left is
  never escaped: escaping builds up to six times its length);
- `attributes.name` where the name is also an attribute of the dict Jinja looks it up
  on first (`attributes.items`): only names no dict attribute shadows are plain.

No loop, call or filter runs, so the work is linear in the output the budget already
bounds, and no clock is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import nodes
from markupsafe import escape

from shared.templating.lead import LeadPath

# lead fields that are text whenever the lead has them (`lead_merge_vars`)
TEXT_FIELDS = frozenset({"email", "first_name", "last_name", "country"})
ATTRIBUTES = "attributes"
UNSUBSCRIBE_URL = "unsubscribe_url"
# `attributes.x` where Jinja finds an attribute of the dict itself before its item `x`
SHADOWED = frozenset(dir(LeadPath(ATTRIBUTES, {})))
# what markupsafe's `escape` replaces; a value without any is printed as it is
ESCAPED = re.compile("[&<>'\"]")
# what a piece prints: literal text, a lead field, one of its attributes, or the link
TEXT, FIELD, ATTRIBUTE, LINK = range(4)
Piece = tuple[int, str]


def _piece(node: nodes.Node) -> Piece | None:
    """The piece of one output node, or None when it is not plain."""
    if isinstance(node, nodes.TemplateData):
        return TEXT, node.data
    if isinstance(node, nodes.Name) and node.ctx == "load":
        if node.name in TEXT_FIELDS:
            return FIELD, node.name
        return (LINK, "") if node.name == UNSUBSCRIBE_URL else None
    if (
        isinstance(node, nodes.Getattr)
        and node.ctx == "load"
        and isinstance(node.node, nodes.Name)
        and node.node.name == ATTRIBUTES
        and node.attr not in SHADOWED
    ):
        return ATTRIBUTE, node.attr
    return None


class PlainPart:
    """One part as literal text and field look-ups; see the module's docstring."""

    __slots__ = ("_html", "_pieces")

    def __init__(self, pieces: tuple[Piece, ...], *, html: bool) -> None:
        self._pieces = pieces
        self._html = html

    @classmethod
    def of(cls, ast: nodes.Template, *, html: bool) -> PlainPart | None:
        """The part parsed as `ast`, or None when it holds anything but text and fields."""
        pieces: list[Piece] = []
        for statement in ast.body:
            if not isinstance(statement, nodes.Output):
                return None
            for node in statement.nodes:
                piece = _piece(node)
                if piece is None:
                    return None
                pieces.append(piece)
        return cls(tuple(pieces), html=html)

    def render(self, merge_vars: Mapping[str, Any], link: str, room: int) -> str | None:
        """The part's output for a lead's `merge_vars` and unsubscribe `link` in at most
        `room` characters; None: render it through Jinja (a value that is not text, one
        the lead lacks, or too long)."""
        out: list[str] = []
        for kind, name in self._pieces:
            if kind == TEXT:
                text = name
            else:
                if kind == FIELD:
                    value = merge_vars.get(name)
                elif kind == ATTRIBUTE:
                    attributes = merge_vars.get(ATTRIBUTES)
                    value = attributes.get(name) if isinstance(attributes, dict) else None
                else:
                    value = link
                if type(value) is not str or len(value) > room:
                    return None
                text = escape(value) if self._html and ESCAPED.search(value) else value
            room -= len(text)
            if room < 0:
                return None
            out.append(text)
        return "".join(out)
