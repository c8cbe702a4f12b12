"""The render budget: each limit stops a template that would otherwise run on (issue 11)."""

from __future__ import annotations

import pytest

from shared.templating import RenderError, RenderErrorKind, TemplateLimits
from tests.shared.templating.helpers import LINK, SMALL, compiled, lead, render


def budget_failure(html: str, limits: TemplateLimits = SMALL, **fields: object) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render(html, limits, **fields)
    assert caught.value.kind is RenderErrorKind.BUDGET
    return caught.value


@pytest.mark.parametrize(
    "html",
    [
        # sizes the source cannot show: they come from the lead
        "{% for a in first_name * 40 %}{% for b in first_name * 40 %}{% endfor %}{% endfor %}",
        "{% for a in range(attributes.n) %}{% endfor %}",
        "{{ range(attributes.n) | list | length }}",
        "{% for t in tags %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    ],
)
def test_render_stops_at_max_iterations(html: str) -> None:
    error = budget_failure(html, attributes={"n": 5_000}, tags=["t"] * 5_000)
    assert error.limit == "max_iterations"
    assert str(error).startswith("html_body line 1: ")
    assert "1,000 loop iterations" in str(error)


@pytest.mark.parametrize(
    "html",
    [
        "{% for t in tags %}" + "x" * 100 + "{% endfor %}",
        "{% for t in tags %}{{ t }}{% endfor %}",
        "{{ first_name * 4000 }}",
    ],
)
def test_render_stops_at_max_output_chars(html: str) -> None:
    error = budget_failure(html, tags=["y" * 100] * 200)
    assert error.limit == "max_output_chars"
    assert "10,000 characters" in str(error)


@pytest.mark.parametrize(
    "html",
    [
        "{% set s = first_name %}" + "{% set s = s ~ s %}" * 30,
        "{% set s = first_name %}" + "{% set s = s + s %}" * 30,
        "{% set s = [first_name] %}" + "{% set s = [s, s] %}" * 60 + "{{ s == s }}",
        "{{ first_name * attributes.m }}",
        "{{ [first_name] * attributes.m }}",
        "{{ first_name | replace('', first_name * 10000) }}",
        "{{ first_name.replace('', first_name * 10000) }}",
        "{{ tags | join(first_name * 1000) }}",
        "{{ first_name | center(attributes.n) }}",
        "{{ '%*s' | format(attributes.n, first_name) }}",
        "{{ '%99999999s' % first_name }}",
        "{{ attributes | tojson(indent=1000) }}",
    ],
)
def test_render_stops_at_max_built_chars(html: str) -> None:
    error = budget_failure(html, tags=["t"] * 100, attributes={"n": 10**8, "m": 10**5})
    assert error.limit == "max_built_chars"
    assert "40,000 characters" in str(error) or "indent" in str(error)


def test_render_stops_at_max_render_seconds_on_a_pinned_clock() -> None:
    ticks = iter(range(1_000_000))

    def clock() -> float:  # one second passes every time the clock is read
        return float(next(ticks))

    limits = SMALL.model_copy(update={"max_render_seconds": 5.0, "max_iterations": 10**6})
    template = compiled("{% for t in tags %}{% endfor %}", limits)
    with pytest.raises(RenderError) as caught:
        template.render(lead(tags=["t"] * 100), LINK, clock=clock)
    assert caught.value.limit == "max_render_seconds"
    assert "more than 5 s of CPU time" in str(caught.value)
    assert template.render(lead(tags=["t"]), LINK, clock=clock).subject == "s"


def test_huge_numbers_are_refused_at_render() -> None:
    error = budget_failure("{{ attributes.n ** attributes.n }}", attributes={"n": 10**6})
    assert "4,300 digits" in str(error)


def test_unsafe_methods_are_template_errors() -> None:
    with pytest.raises(RenderError) as caught:
        render("{{ '{:>99999999}'.format(first_name) }}")
    assert caught.value.kind is RenderErrorKind.TEMPLATE
    assert "format" in str(caught.value)


def test_one_meter_covers_the_whole_email() -> None:
    limits = SMALL.model_copy(update={"max_output_chars": 1_000})
    template = compiled("x" * 600, limits, text="y" * 600)
    with pytest.raises(RenderError) as caught:
        template.render(lead(), LINK)
    assert caught.value.part == "text_body"
    assert caught.value.limit == "max_output_chars"


def test_ordinary_templates_render_well_within_the_default_budget() -> None:
    html = (
        "<p>Hi {{ first_name | default('there') }},</p>"
        "{% for t in tags %}<li>{{ loop.index }}. {{ t | upper }}</li>{% endfor %}"
        "{% set plan = attributes.plan ~ '!' %}{{ plan }} {{ [1, 2, 3] | sum }}"
        "{{ range(3) | join(',') }} {{ (tags | map('upper') | list) }}"
    )
    email = compiled(html, TemplateLimits()).render(lead(tags=["a", "b"]), LINK)
    assert email.html.startswith("<p>Hi Ada,</p><li>1. A</li><li>2. B</li>pro! 6")
    assert "0,1,2 [&#39;A&#39;, &#39;B&#39;]" in email.html


def test_lazy_filters_step_per_item() -> None:
    error = budget_failure("{{ tags | map('upper') | select | list | length }}", tags=["t"] * 5_000)
    assert error.limit == "max_iterations"
