"""Template work of the campaign API, done off the event loop.

Compiling a large template or rendering one to its budget takes CPU time;
each runs in a worker thread so `/healthz` and every other request keep
answering meanwhile. Previews and launch checks render with `preview_link`,
an unsubscribe link whose token is not a token: it cannot unsubscribe anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from shared.templating import CompiledTemplate, RenderedEmail, TemplateLimits, TemplateSource
from shared.unsubscribe import unsubscribe_url

PREVIEW_TOKEN = "preview-only-not-a-real-link"  # noqa: S105 - a placeholder, not a secret


def preview_link(public_base_url: str) -> str:
    """The unsubscribe link shown in previews: it verifies as no one's token."""
    return unsubscribe_url(public_base_url, PREVIEW_TOKEN)


async def compile_template(source: TemplateSource, limits: TemplateLimits) -> CompiledTemplate:
    """`CompiledTemplate(source, limits)` in a worker thread; raises `TemplateError`."""
    return await asyncio.to_thread(CompiledTemplate, source, limits)


async def render_preview(
    template: CompiledTemplate, merge_vars: Mapping[str, Any], public_base_url: str
) -> RenderedEmail:
    """The email for one lead, in a worker thread; raises `RenderError`."""
    return await asyncio.to_thread(template.render, merge_vars, preview_link(public_base_url))
