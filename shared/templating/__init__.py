"""Email templates: Jinja2's sandbox under a render budget, with an unsubscribe link in every email.

Merge variables are the lead's fields (`email`, `first_name`, `last_name`,
`country`, `tags`) and its attributes (`attributes.plan`); `unsubscribe_url`
is always defined, and a footer carrying it is appended when a body does not
place it. Empty values render as empty text and `default` replaces them.

    template = CompiledTemplate(TemplateSource(subject, html_body, text_body))  # TemplateError
    email = template.render(lead_merge_vars(row), unsubscribe_url)             # RenderError

A template is checked when saved (syntax, unknown variables, what its source
shows it would cost: `static.py`) and every render runs under `TemplateLimits`
(time, output, loop iterations, built text: `meter.py`, `environment.py`).
docs/templates.md is the user's guide.
"""

from shared.templating.compiled import CompiledTemplate, RenderedEmail, TemplateSource
from shared.templating.errors import RenderError, RenderErrorKind, TemplateError
from shared.templating.lead import KNOWN_VARIABLES, LEAD_FIELDS, lead_merge_vars
from shared.templating.limits import TemplateLimits, default_limits

__all__ = [
    "KNOWN_VARIABLES",
    "LEAD_FIELDS",
    "CompiledTemplate",
    "RenderError",
    "RenderErrorKind",
    "RenderedEmail",
    "TemplateError",
    "TemplateLimits",
    "TemplateSource",
    "default_limits",
    "lead_merge_vars",
]
