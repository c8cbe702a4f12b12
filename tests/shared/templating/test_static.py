"""Save-time checks: what the source shows it would cost is refused with part, line and limit."""

from __future__ import annotations

import pytest

from shared.templating import CompiledTemplate, TemplateError, TemplateLimits, TemplateSource

HOSTILE = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"


def refusal(html: str) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        CompiledTemplate(TemplateSource("s", html, ""), TemplateLimits())
    return caught.value


def test_nested_constant_loops_past_the_iteration_budget_are_refused() -> None:
    error = refusal("<p>\n" + HOSTILE)
    assert (error.part, error.line) == ("html_body", 2)
    assert "10,000,000,000 iterations (100,000 × 100,000)" in error.message
    assert "100,000 allowed (max_iterations)" in error.message


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("{% for a in range(10**6) %}{% endfor %}", "1,000,000 iterations"),
        ("{% for a in range(0, 400000, 2) %}{% endfor %}", "200,000 iterations"),
        (
            "{% for a in 'x' * 1000 %}{% for b in 'y' * 1000 %}{% endfor %}{% endfor %}",
            "1,000 × 1,000",
        ),
        ("{% for a in [1,2,3] %}{% for b in range(50000) %}{% endfor %}{% endfor %}", "3 × 50,000"),
    ],
)
def test_loops_whose_sizes_the_source_shows_are_checked(html: str, expected: str) -> None:
    assert expected in refusal(html).message


def test_loops_within_the_budget_are_accepted() -> None:
    html = "{% for a in range(100) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    CompiledTemplate(TemplateSource("s", html, ""), TemplateLimits())


def test_deep_nesting_is_refused() -> None:
    html = "{% if 1 %}" * 9 + "x" + "{% endif %}" * 9
    assert "nest deeper than 8 (max_nesting)" in refusal(html).message


def test_deep_expressions_are_refused() -> None:
    assert "max_expression_depth" in refusal("{{ " + "[" * 60 + "1" + "]" * 60 + " }}").message


def test_huge_literals_are_refused() -> None:
    listed = "{{ [" + ",".join("1" * 1001) + "] }}"
    assert "1,001 items, more than 1,000 (max_literal_items)" in refusal(listed).message
    assert "max_built_chars" in refusal("{{ 'x' * 10**9 }}").message
    assert "4,300 digits" in refusal("{{ 9 ** (9 ** 9) }}").message
    assert "4300" in refusal("{{ " + "9" * 5000 + " }}").message


@pytest.mark.parametrize(
    ("html", "construct"),
    [
        ("{% macro m() %}x{% endmacro %}", "{% macro %}"),
        ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
        ("{% set s %}x{% endset %}", "{% set %}…{% endset %}"),
        ("{% include 'other' %}", "{% include %}"),
        ("{% extends 'base' %}", "{% extends %}"),
        ("{% autoescape false %}x{% endautoescape %}", "{% autoescape %}"),
    ],
)
def test_constructs_that_escape_metering_are_refused(html: str, construct: str) -> None:
    assert refusal(html).message.startswith(f"{construct} is not allowed")


def test_recursive_loops_are_refused() -> None:
    assert "recursive" in refusal("{% for t in tags recursive %}{% endfor %}").message


@pytest.mark.parametrize(
    "html",
    ["{% if first_name %}{{ tags | pprint }}{% endif %}", "{{ lipsum(5) }}", "{{ namespace() }}"],
)
def test_filters_and_globals_outside_the_allowed_list_are_refused(html: str) -> None:
    message = refusal(html).message
    assert "No filter named 'pprint'" in message or "unknown variable" in message
