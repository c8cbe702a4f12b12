"""template_usage: the lead fields and attribute paths a launch check must group leads by."""

from __future__ import annotations

from shared.templating import TemplateSource
from shared.templating.usage import template_usage


def test_usage_lists_fields_and_constant_attribute_paths() -> None:
    source = TemplateSource(
        "Hi {{ first_name }}",
        "{{ attributes.company.name }} {{ attributes['plan'] }} {{ attributes.get('x') }}",
        "{% for t in tags %}{{ t }}{% endfor %} {{ email }}",
    )
    usage = template_usage(source)
    assert usage.columns == {"first_name", "tags"}
    assert usage.attribute_paths == {("company",), ("company", "name"), ("plan",)}
    assert not usage.reads_all_attributes


def test_usage_notices_attributes_read_as_a_whole() -> None:
    for html in ("{% set a = attributes %}{{ a.x }}", "{{ attributes[first_name] }}"):
        assert template_usage(TemplateSource("s", html, "")).reads_all_attributes
