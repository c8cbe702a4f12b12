"""What the template worker process runs: check, preview and test-render templates.

Module-level functions of plain, picklable arguments (sources, limits, merge
variables), so `rendering.TemplateWorker` can send them to its process. Each
compiles through a small cache: a preview or launch check right after a save
does not compile the same template again.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from shared.templating import (
    CompiledTemplate,
    RenderedEmail,
    RenderError,
    RenderErrorKind,
    TemplateError,
    TemplateLimits,
    TemplateSource,
)
from shared.templating.usage import Usage, template_usage

CACHED_TEMPLATES = 16


@lru_cache(maxsize=CACHED_TEMPLATES)
def _compiled(source: TemplateSource, limits: TemplateLimits) -> CompiledTemplate:
    return CompiledTemplate(source, limits)


def check(source: TemplateSource, limits: TemplateLimits) -> None:
    """Raise `TemplateError` unless the template compiles under `limits`."""
    _compiled(source, limits)


def usage(source: TemplateSource, limits: TemplateLimits) -> Usage:
    """What the template reads of a lead; raises `TemplateError` unless it compiles."""
    _compiled(source, limits)
    return template_usage(source)


def preview(
    source: TemplateSource, limits: TemplateLimits, merge_vars: dict[str, Any], link: str
) -> RenderedEmail:
    """The email for one lead; raises `TemplateError` or `RenderError`."""
    return _compiled(source, limits).render(merge_vars, link)


def render_leads(
    source: TemplateSource,
    limits: TemplateLimits,
    leads: list[dict[str, Any]],
    link: str,
    seconds: float,
) -> list[tuple[int, RenderError]]:
    """Render for each lead in turn; the failures, by index into `leads`.

    Stops at the first failure that is not about a lead's data (the budget,
    the template itself): the rest would fail alike. Raises `TemplateError`
    if the template does not compile or if all of it takes longer than `seconds`.
    """
    template = _compiled(source, limits)
    deadline = time.monotonic() + seconds
    failures: list[tuple[int, RenderError]] = []
    for index, merge_vars in enumerate(leads):
        if time.monotonic() > deadline:
            raise TemplateError(
                "template", f"test-rendering took longer than {seconds:g} s (max_check_seconds)"
            )
        try:
            template.render(merge_vars, link)
        except RenderError as exc:
            failures.append((index, exc))
            if exc.kind is not RenderErrorKind.LEAD_DATA:
                break
    return failures
