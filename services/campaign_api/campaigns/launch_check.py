"""Before a campaign is launched or scheduled: does its template render for the leads it matches?

A template that reads `attributes.company` saves fine; it fails for every
matched lead without that attribute. A launch therefore test-renders the
template for one lead of each group of matched leads that read alike
(`lead_groups`) and refuses with 422 naming the part, line, variable and how
many leads lack it. Rendering runs in the template worker process, each lead
under the render budget and all of them under `max_check_seconds`; a template
that no longer compiles (saved under other limits) is refused the same way. Failures that depend
on values rather than on presence (`attributes.n + 1` with a text `n`) can
still happen at send time; the sender records them per lead.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.campaign_api import template_jobs
from services.campaign_api.campaigns.lead_groups import LeadGroup, lead_groups
from services.campaign_api.rendering import TemplateWorker, preview_link
from shared.conditions import parse_condition
from shared.templating import (
    RenderError,
    TemplateError,
    TemplateLimits,
    TemplateSource,
    lead_merge_vars,
)

TEMPLATE = "SELECT subject, html_body, text_body FROM templates WHERE id = $1 AND account_id = $2"


class LaunchRefused(ValueError):
    """The template fails for some matched leads (or at all): the launch is refused.

    `causes` lists each distinct failure with how many matched leads it stops,
    the costliest first; the message explains the first. A lead is counted for
    the first failure its render meets.
    """

    def __init__(self, causes: list[tuple[TemplateError, int]], matched: int) -> None:
        self.causes = causes
        self.matched = matched
        self.error, self.failing = causes[0]
        self.variable = getattr(self.error, "variable", None)
        super().__init__(explain(self.error, self.failing, matched))


def explain(error: TemplateError, failing: int, matched: int) -> str:
    """One failure, for people: where, what, and for how many of the matched leads."""
    variable = getattr(error, "variable", None)
    if variable is not None:
        return (
            f"{error.part} line {error.line}: {variable} is missing for {failing:,} of "
            f"{matched:,} matched leads; use {{{{ {variable} | default('') }}}} "
            "or narrow the condition"
        )
    if matched == 0:
        return str(error)
    return f"{error} (for {failing:,} of {matched:,} matched leads)"


def _causes(
    failures: list[tuple[int, RenderError]], groups: list[LeadGroup]
) -> list[tuple[TemplateError, int]]:
    """Each distinct failure with the leads it costs, the costliest first."""
    by_cause: Counter[tuple[str, int | None, str]] = Counter()
    first: dict[tuple[str, int | None, str], RenderError] = {}
    for index, error in failures:
        cause = (error.part, error.line, error.variable or error.message)
        by_cause[cause] += groups[index].size
        first.setdefault(cause, error)
    return [(first[cause], failing) for cause, failing in by_cause.most_common()]


async def check_launch(
    conn: asyncpg.Connection,
    campaign: asyncpg.Record,
    now: datetime,
    *,
    worker: TemplateWorker,
    limits: TemplateLimits,
    public_base_url: str,
) -> None:
    """Raise `LaunchRefused` if the campaign's template fails for any matched lead."""
    row = await conn.fetchrow(TEMPLATE, campaign["template_id"], campaign["account_id"])
    source = TemplateSource(row["subject"], row["html_body"], row["text_body"])
    try:  # fails if saved under other limits, or before a check existed
        reads = await worker.run(template_jobs.usage, source, limits)
        condition = parse_condition(_json(campaign["condition"]))
        matched, groups = await lead_groups(
            conn,
            campaign["account_id"],
            condition,
            reads,
            now=now,
            limit=limits.max_check_groups,
        )
        leads = [lead_merge_vars(group.lead) for group in groups]
        link = preview_link(public_base_url)
        failures = await worker.run(
            template_jobs.render_leads, source, limits, leads, link, limits.max_check_seconds
        )
    except TemplateError as exc:
        raise LaunchRefused([(exc, 0)], 0) from exc
    if failures:
        raise LaunchRefused(_causes(failures, groups), matched)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
