"""Missing merge values: empty text, never "None"; `default` replaces them (issue 10)."""

from __future__ import annotations

import pytest

from shared.templating import RenderError, RenderErrorKind
from tests.shared.templating.helpers import body, compiled, lead, render


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_field_renders_as_nothing(empty: str | None) -> None:
    assert body("Hi {{ first_name }}!", first_name=empty) == "Hi !"
    assert body("Hi {{ first_name | title }}{{ first_name ~ '' }}", first_name=empty) == "Hi "


@pytest.mark.parametrize("empty", [None, ""])
def test_default_replaces_an_empty_field(empty: str | None) -> None:
    assert body('Hi {{ first_name | default("there") }}', first_name=empty) == "Hi there"
    assert body('Hi {{ first_name | d("there") }}', first_name="Ada") == "Hi Ada"


def test_default_replaces_a_missing_or_null_attribute() -> None:
    html = "{{ attributes.company | default('your team') }}|{{ attributes.company }}"
    assert body(html, attributes={"company": None}) == "your team|"
    assert body("{{ attributes.company | default('your team') }}") == "your team"


def test_a_missing_attribute_without_default_names_its_path() -> None:
    template = compiled("<p>\n{{ attributes.company.name }}</p>")
    with pytest.raises(RenderError) as caught:
        template.render(lead(attributes={"company": {"id": 1}}), "u")
    error = caught.value
    assert str(error) == "html_body line 2: attributes.company.name is missing"
    assert (error.kind, error.variable) == (RenderErrorKind.LEAD_DATA, "attributes.company.name")


def test_a_value_that_does_not_fit_is_this_leads_data() -> None:
    with pytest.raises(RenderError) as caught:
        render("{{ attributes.plan + 1 }}")
    assert caught.value.kind is RenderErrorKind.LEAD_DATA
    assert caught.value.variable is None


def test_subject_and_footer_follow_the_same_rules() -> None:
    email = compiled("", subject="  Hi {{ first_name }} ", text="T").render(
        lead(first_name=None), "U"
    )
    assert (email.subject, email.html, email.text) == ("Hi", "", "T\n\nUnsubscribe: U\n")
