"""Which lead values a template reads, from its source: what a launch check must cover.

A launch test-renders the template for one lead of each group of matched
leads that differ in what the template reads: whether each lead field it
uses is empty, and whether each attribute path it names (`attributes.company`,
`attributes.address.city`) is present. A template that reads attributes in a
way the source does not spell out (`attributes[key]`, the whole dict)
`reads_all_attributes`: then leads are grouped by their full set of keys.

`fields_read` is the same reading for the send path: the lead fields a template reads
besides `email`, which are all the resolver puts in a recipient's merge variables and all
the sender fills in when a batch was resolved for a template that read fewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import Environment, TemplateSyntaxError, nodes

from shared.templating.compiled import TemplateSource
from shared.templating.lead import LEAD_FIELDS

COLUMNS = ("first_name", "last_name", "country", "tags")  # fields a lead may leave empty
# the lead fields a template may read besides `email` (which every recipient carries)
OPTIONAL_FIELDS = LEAD_FIELDS - {"email"}
# A lookup whose name is a dict or str method reads that method, not a key of lead data.
METHODS = frozenset(dir(dict)) | frozenset(dir(str))
_parser = Environment()  # parsing only: the syntax is the same in every environment


@dataclass
class Usage:
    """The lead fields and attribute paths a template reads."""

    columns: set[str] = field(default_factory=set)
    attribute_paths: set[tuple[str, ...]] = field(default_factory=set)
    reads_all_attributes: bool = False


def _lookup_chain(node: nodes.Node) -> tuple[str, list[str]] | None:
    """`attributes.a["b"].c` as ("attributes", ["a", "b", "c"]); None unless all constant."""
    keys: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
            keys.append(str(node.arg.value))
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return node.name, keys[::-1]


def _visit(node: nodes.Node, usage: Usage) -> None:
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        chain = _lookup_chain(node)
        if chain is not None and chain[0] == "attributes":
            path: list[str] = []
            for key in chain[1]:
                if key in METHODS:
                    break
                path.append(key)
                usage.attribute_paths.add(tuple(path))  # each prefix: where a lead's data stops
            return
    if isinstance(node, nodes.Name) and node.ctx == "load":
        if node.name == "attributes":
            usage.reads_all_attributes = True
        elif node.name in COLUMNS:
            usage.columns.add(node.name)
    for child in node.iter_child_nodes():
        _visit(child, usage)


def template_usage(source: TemplateSource) -> Usage:
    """What the (already validated) template reads of a lead."""
    usage = Usage()
    for text in (source.subject, source.html_body, source.text_body):
        _visit(_parser.parse(text), usage)
    return usage


@lru_cache(maxsize=512)
def fields_read(source: TemplateSource) -> frozenset[str]:
    """The lead fields besides `email` the template reads (of `OPTIONAL_FIELDS`): every
    one its source names, however it uses it (`attributes.get("a")` reads `attributes`);
    a field it does not name is never looked up by a render. A source that does not parse
    reads them all (it renders nothing, and says why, wherever it is compiled)."""
    fields: set[str] = set()
    try:
        for text in (source.subject, source.html_body, source.text_body):
            for name in _parser.parse(text).find_all(nodes.Name):
                if name.ctx == "load" and name.name in OPTIONAL_FIELDS:
                    fields.add(name.name)
    except TemplateSyntaxError:
        return OPTIONAL_FIELDS
    return frozenset(fields)
