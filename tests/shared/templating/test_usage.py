"""template_usage: the lead fields and attribute paths a launch check must group leads by;
fields_read: the lead fields a send needs."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.templating import CompiledTemplate, TemplateSource, lead_merge_vars
from shared.templating.usage import OPTIONAL_FIELDS, fields_read, template_usage


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


# Pieces of templates: each reads some lead fields in one of the ways a template can.
PIECES = (
    "Hi {{ first_name }}",
    "{{ last_name|default('friend') }}",
    "{% if country == 'DE' %}Hallo{% else %}Hello{% endif %}",
    "{% for t in tags %}[{{ t }}]{% endfor %}",
    "{{ tags|length }}",
    "{{ attributes.plan|default('none') }}",
    "{{ attributes.get('age', 0) }}",
    "{% set a = attributes %}{{ a|length }}",
    "{% for k in attributes|sort %}{{ k }}{% endfor %}",
    "{{ email }}",
    "{% with name = first_name ~ last_name %}Dear {{ name }}{% endwith %}",
    "plain text",
)
LEADS = st.fixed_dictionaries(
    {
        "email": st.just("ada@example.com"),
        "first_name": st.one_of(st.none(), st.text(max_size=8)),
        "last_name": st.one_of(st.none(), st.text(max_size=8)),
        "country": st.sampled_from([None, "DE", "FR"]),
        "tags": st.lists(st.sampled_from(["vip", "beta", "news"]), max_size=3),
        "attributes": st.dictionaries(
            st.sampled_from(["plan", "age", "company"]),
            st.one_of(st.integers(0, 99), st.text(max_size=5)),
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    subject=st.lists(st.sampled_from(PIECES), max_size=2),
    html=st.lists(st.sampled_from(PIECES), max_size=4),
    lead=LEADS,
)
def test_a_render_given_only_the_fields_read_is_the_render_given_all(
    subject: list[str], html: list[str], lead: dict[str, Any]
) -> None:
    source = TemplateSource(" ".join(subject), "<p>" + " ".join(html) + "</p>", "")
    template = CompiledTemplate(source)
    fields = fields_read(source)
    full = template.render(lead_merge_vars(lead), "https://u.example/x")
    read = lead_merge_vars(lead, fields)
    assert read.keys() == {"email", *fields}
    assert template.render(read, "https://u.example/x") == full


def test_fields_read_names_each_field_however_it_is_used() -> None:
    def read(html: str) -> set[str]:
        return set(fields_read(TemplateSource("s", html, "")))

    assert read("<p>Hi {{ first_name }} from {{ country }}.</p>") == {"first_name", "country"}
    assert read("{{ attributes.get('x') }}") == {"attributes"}  # a method still reads it
    assert read("{{ email }} {{ unsubscribe_url }}") == set()
    assert read("{% for t in tags %}{{ t }}{% endfor %}") == {"tags"}
    assert read("{% if %}") == set(OPTIONAL_FIELDS)  # unparsable: read everything
