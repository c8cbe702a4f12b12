"""The render budget of templates, as settings every service reads the same way.

campaign_api (save, preview, launch check) and the sender (every email) enforce
the same limits, so both read them from the environment with one prefix,
`FANOUT_TEMPLATE_`, whatever service they run in. docs/templates.md explains
each limit and what happens when a template reaches it.
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import Seconds

# The largest integer a template may compute: Python refuses to print longer ones anyway.
MAX_NUMBER_BITS = 14_000  # about 4,300 decimal digits


class TemplateLimits(BaseSettings):
    """Limits on what one template may cost (env prefix `FANOUT_TEMPLATE_`)."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_TEMPLATE_", extra="ignore", frozen=True)

    max_output_chars: int = Field(
        1_000_000,
        ge=1_000,
        description="Largest rendered email (subject, HTML and text together), in characters.",
    )
    max_built_chars: int = Field(
        4_000_000,
        ge=1_000,
        description="Text and lists a template may build while rendering one email "
        "(joins, repetitions, filter results), in characters; bounds its memory.",
    )
    max_iterations: int = Field(
        100_000,
        ge=100,
        description="Loop iterations plus function and method calls while rendering one email.",
    )
    max_render_seconds: Seconds = Field(
        0.1, description="Most CPU time rendering one email may take."
    )
    max_nesting: int = Field(
        8, ge=1, description="Deepest nesting of {% for %}, {% if %} and {% with %} blocks."
    )
    max_expression_depth: int = Field(
        40, ge=5, description="Deepest nesting of one expression (brackets, filters, operators)."
    )
    max_nodes: int = Field(
        3_000,
        ge=100,
        description="Most expressions and statements in one part (compiling costs time per node).",
    )
    max_literal_items: int = Field(
        1_000, ge=10, description="Most items in one list or dict written in a template."
    )
    max_check_seconds: Seconds = Field(
        2.0,
        description="Longest time a launch may spend test-rendering the template for its leads.",
    )
    max_check_groups: int = Field(
        500,
        ge=1,
        description="Lead groups (distinct sets of the fields a template reads) test-rendered "
        "at launch, largest first.",
    )


@cache
def default_limits() -> TemplateLimits:
    """The limits from the environment, read once per process."""
    return TemplateLimits()
