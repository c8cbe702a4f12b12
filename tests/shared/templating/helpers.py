"""Small builders for the templating tests: a template from one body, a lead, a render."""

from __future__ import annotations

from typing import Any

from shared.templating import CompiledTemplate, RenderedEmail, TemplateLimits, TemplateSource

LINK = "https://example.test/unsubscribe/t"
# Limits small enough that a test reaches them in a few milliseconds.
SMALL = TemplateLimits(
    max_output_chars=10_000, max_built_chars=40_000, max_iterations=1_000, max_render_seconds=60
)


def lead(**fields: Any) -> dict[str, Any]:
    """A lead's merge variables (as the resolver emits them), with `fields` overriding."""
    base: dict[str, Any] = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "tags": ["vip"],
        "attributes": {"plan": "pro"},
    }
    return {**base, **fields}


def compiled(html: str, limits: TemplateLimits = SMALL, **parts: str) -> CompiledTemplate:
    """A template whose HTML body is `html` (subject "s", text empty unless given)."""
    source = TemplateSource(parts.get("subject", "s"), html, parts.get("text", ""))
    return CompiledTemplate(source, limits)


def render(html: str, limits: TemplateLimits = SMALL, **fields: Any) -> RenderedEmail:
    """Render an HTML body for `lead(**fields)`."""
    return compiled(html, limits).render(lead(**fields), LINK)


def body(html: str, **fields: Any) -> str:
    """The rendered HTML body without the appended unsubscribe footer."""
    return render(html, **fields).html.split("\n<p style=")[0]
