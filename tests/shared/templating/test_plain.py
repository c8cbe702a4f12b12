"""Merge-field parts rendered without Jinja (`shared/templating/plain.py`): the same email
as Jinja renders, or Jinja's own error, for any mix of text, fields and lead values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import TemplateSyntaxError

from shared.templating import (
    CompiledTemplate,
    RenderedEmail,
    RenderError,
    TemplateError,
    TemplateLimits,
    TemplateSource,
)
from shared.templating.parts import plain_part
from tests.shared.templating.helpers import LINK, lead

TINY = TemplateLimits(max_output_chars=1_000)

FIELDS = ["email", "first_name", "last_name", "country", "unsubscribe_url", "tags"]
ATTRIBUTE_NAMES = ["plan", "company", "items", "path", "get", "keys", "x_1"]
PLAIN_FIELDS = [f"{{{{ {name} }}}}" for name in FIELDS if name != "tags"] + [
    f"{{{{attributes.{name}}}}}" for name in ("plan", "company", "x_1")
]
OTHER = [
    "{{ first_name | upper }}",
    "{% if first_name %}yes{% endif %}",
    "{{ attributes['plan'] }}",
    "{{ attributes.path }}",  # the dict's own attribute (`attributes.items` prints an address)
    "{{ tags }}",
    "{{ 'x' }}",
    "{# a comment #}",
]
# literal text: markup, quotes, line breaks, tabs and non-ASCII, never Jinja's delimiters
literal = st.text(
    alphabet=st.sampled_from(list("ab <>&'\"\n\t\r\x0bé€😀")), min_size=1, max_size=12
)
piece = st.one_of(literal, st.sampled_from(PLAIN_FIELDS), st.sampled_from(OTHER))
part = st.lists(piece, max_size=6).map("".join)
text_value = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list("<>&'\"a\n\x00")), max_size=40),
    st.text(min_size=400, max_size=700),  # past TINY's output budget in a few fields
)
value = st.one_of(
    text_value,
    text_value,
    text_value,
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
)
TEXT_KEYS = ["email", "first_name", "last_name", "country"]


def _lead_values(values: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in dropped}


# a lead's merge variables, now and then without one of them
merge_vars = st.builds(
    _lead_values,
    st.fixed_dictionaries(
        {
            **dict.fromkeys(TEXT_KEYS, value),
            "tags": st.lists(st.text(max_size=4), max_size=2),
            "attributes": st.one_of(
                st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), value, max_size=5), st.none()
            ),
        }
    ),
    st.sets(st.sampled_from([*TEXT_KEYS, "attributes"]), max_size=1),
)


def _jinja_only(source: TemplateSource, limits: TemplateLimits) -> CompiledTemplate:
    template = CompiledTemplate(source, limits)
    template._plain = None  # noqa: SLF001 - the reference: every part through Jinja
    return template


def _outcome(template: CompiledTemplate, values: dict[str, Any]) -> RenderedEmail | tuple[Any, ...]:
    try:
        return template.render(values, LINK)
    except RenderError as exc:
        return (str(exc), exc.kind, exc.limit, exc.line, exc.variable)


@settings(max_examples=400, deadline=None)
@given(subject=part, html=part, text=part, values=merge_vars, small=st.booleans())
def test_an_email_is_what_jinja_renders(
    subject: str, html: str, text: str, values: dict[str, Any], small: bool
) -> None:
    source = TemplateSource(subject, html, text)
    limits = TINY if small else TemplateLimits()
    try:
        template = CompiledTemplate(source, limits)
    except TemplateError:  # e.g. `{{ tags }}`'s list past a tiny budget is fine; syntax is not
        return
    assert _outcome(template, values) == _outcome(_jinja_only(source, limits), values)


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("Hello {{ first_name }}", True),
        ("<p>{{attributes.company}} &amp; {{ unsubscribe_url }}</p>\n", True),
        ("just text", True),
        ("", True),
        ("{{ first_name | default('there') }}", False),
        ("{% if country %}{{ country }}{% endif %}", False),
        ("{{ attributes.items }}", False),
        ("{{ attributes.path }}", False),
        ("{{ attributes['plan'] }}", False),
        ("{{ tags }}", False),
        ("{{ first_name ~ last_name }}", False),
    ],
)
def test_which_parts_are_plain(source: str, plain: bool) -> None:
    assert (plain_part(source, True) is not None) is plain


def test_a_plain_part_escapes_html_and_keeps_text_as_it_is() -> None:
    source = TemplateSource("Hi {{ first_name }}", "<b>{{ first_name }}</b>", "{{ first_name }}")
    template = CompiledTemplate(source)
    email = template.render(lead(first_name="<Tom & 'Jerry'>"), LINK)
    assert email.subject == "Hi <Tom & 'Jerry'>"
    assert email.html.startswith("<b>&lt;Tom &amp; &#39;Jerry&#39;&gt;</b>")
    assert email.text.startswith("<Tom & 'Jerry'>")
    assert email == _jinja_only(source, template.limits).render(
        lead(first_name="<Tom & 'Jerry'>"), LINK
    )


def test_a_value_past_the_output_budget_gets_jinjas_error() -> None:
    source = TemplateSource("s", "<p>{{ attributes.bio }}</p>", "")
    template = CompiledTemplate(source, TINY)
    with pytest.raises(RenderError) as caught:
        template.render(lead(attributes={"bio": "x" * 1_200}), LINK)
    assert caught.value.limit == "max_output_chars"
    assert caught.value.part == "html_body"


@pytest.mark.parametrize("extra", [0, 1])
def test_the_output_budget_is_jinjas_to_the_character(extra: int) -> None:
    # the subject's 1 character and the markup's 7 leave the field's escaped text the rest
    source = TemplateSource("s", "<i>{{ first_name }}</i>", "")
    escaped = TINY.max_output_chars - 1 - 7 + extra
    values = lead(first_name="&" * (escaped // 5) + "b" * (escaped % 5))  # & is 5 escaped
    template = CompiledTemplate(source, TINY)
    assert _outcome(template, values) == _outcome(_jinja_only(source, TINY), values)
    if extra:
        with pytest.raises(RenderError, match="output longer than 1,000 characters"):
            template.render(values, LINK)
    else:
        assert len(template.render(values, LINK).html.split("\n")[0]) == escaped + 7


def test_a_missing_attribute_gets_jinjas_error_with_its_path() -> None:
    template = CompiledTemplate(TemplateSource("s", "{{ attributes.company }}", ""))
    with pytest.raises(RenderError) as caught:
        template.render(lead(attributes={}), LINK)
    assert caught.value.variable == "attributes.company"
    assert str(caught.value) == "html_body line 1: attributes.company is missing"


def test_plain_part_refuses_what_compile_refused() -> None:
    with pytest.raises((TemplateError, TemplateSyntaxError)):
        plain_part("{{ first_name", False)
