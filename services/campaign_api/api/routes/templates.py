"""Templates: CRUD (validated at save time) and a per-lead preview.

Compiling and rendering run in the template worker process (`rendering`) under
the render budget, so a hostile template answers 422 and never stalls the API.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from fastapi import APIRouter, Response, status

from services.campaign_api import template_jobs
from services.campaign_api.api.deps import SettingsDep
from services.campaign_api.api.models.templates import (
    PreviewRequest,
    RenderedPreview,
    Template,
    TemplateCreate,
    TemplateUpdate,
)
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.owned import fetch_owned, list_owned
from services.campaign_api.records import TEMPLATE_COLUMNS as COLUMNS
from services.campaign_api.records import insert_template
from services.campaign_api.rendering import TemplateWorker, TemplateWorkerDep, preview_link
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep
from shared.templating import (
    TemplateError,
    TemplateLimits,
    TemplateSource,
    lead_merge_vars,
)

router = APIRouter(prefix="/templates", tags=["templates"], responses=answers.AUTHENTICATED)

NOT_FOUND = "template not found"
USERS = """
SELECT id, name, state, count(*) OVER () AS total FROM campaigns
WHERE template_id = $1 AND account_id = $2 ORDER BY created_at, id LIMIT $3
"""
LISTED_USERS = 20


async def compile_or_422(
    worker: TemplateWorker, subject: str, html_body: str, text_body: str, limits: TemplateLimits
) -> TemplateSource:
    """The template's source once it compiles, or 422 naming the part and line at fault."""
    source = TemplateSource(subject, html_body, text_body)
    try:
        await worker.run(template_jobs.check, source, limits)
        return source
    except TemplateError as exc:
        raise invalid(["body", exc.part], exc.message, "template", line=exc.line) from exc


async def _fetch(pool: asyncpg.Pool, template_id: UUID, account: UUID) -> asyncpg.Record:
    row = await fetch_owned(pool, "templates", COLUMNS, account, template_id)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return row


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Template, responses=answers.WITH_BODY
)
async def create_template(
    body: TemplateCreate,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    worker: TemplateWorkerDep,
) -> Template:
    """Save a template. Syntax errors, unknown variables and what its source shows would
    pass the render budget (docs/templates.md) answer 422 with the part, line and limit."""
    await compile_or_422(worker, body.subject, body.html_body, body.text_body, settings.templates)
    return Template(**dict(await insert_template(pool, account, body)))


@router.get("", response_model=Page[Template], responses=problem_responses(422))
async def list_templates(account: CurrentAccount, pool: PoolDep, page: IdPage) -> Page[Template]:
    """The account's templates in id order (keyset pagination)."""
    rows = await list_owned(
        pool, "templates", COLUMNS, account, after=page.cursor, limit=page.limit + 1
    )
    return page.page(rows, lambda r: Template(**dict(r)), key="id")


@router.get("/{template_id}", response_model=Template, responses=answers.BY_ID)
async def get_template(template_id: UUID, account: CurrentAccount, pool: PoolDep) -> Template:
    """One template."""
    return Template(**dict(await _fetch(pool, template_id, account)))


@router.patch(
    "/{template_id}", response_model=Template, responses=answers.BY_ID | answers.WITH_BODY
)
async def update_template(
    template_id: UUID,
    body: TemplateUpdate,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    worker: TemplateWorkerDep,
) -> Template:
    """Change some parts; the resulting template is validated before it is saved."""
    current = dict(await _fetch(pool, template_id, account))
    merged = {**current, **body.model_dump(exclude_unset=True, exclude_none=True)}
    await compile_or_422(
        worker, merged["subject"], merged["html_body"], merged["text_body"], settings.templates
    )
    row = await pool.fetchrow(
        f"""
        UPDATE templates SET name = $3, subject = $4, html_body = $5, text_body = $6,
            updated_at = now()
        WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}
        """,
        template_id,
        account,
        merged["name"],
        merged["subject"],
        merged["html_body"],
        merged["text_body"],
    )
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return Template(**dict(row))


async def _in_use(pool: asyncpg.Pool, template_id: UUID, account: UUID) -> ProblemError:
    """409 naming the campaigns (any state, drafts included) that use the template."""
    rows = await pool.fetch(USERS, template_id, account, LISTED_USERS)
    users = [{"id": str(r["id"]), "name": r["name"], "state": r["state"]} for r in rows]
    count = rows[0]["total"] if rows else 0
    named = ", ".join(f"'{u['name']}' ({u['id']}, {u['state']})" for u in users[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    detail = f"campaigns use this template: {named}{more}; delete or edit them first"
    return ProblemError(409, detail, extra={"campaigns": users, "campaign_count": count})


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers.BY_ID | problem_responses(409),  # 409: a campaign uses it
)
async def delete_template(template_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a template no campaign uses. Otherwise 409 naming the campaigns that use it
    (`extra.campaigns`: id, name and state of up to 20; `extra.campaign_count`: all)."""
    try:
        done = await pool.execute(
            "DELETE FROM templates WHERE id = $1 AND account_id = $2", template_id, account
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise await _in_use(pool, template_id, account) from exc
    if done == "DELETE 0":
        raise ProblemError(404, NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{template_id}/preview",
    response_model=RenderedPreview,
    responses=answers.BY_ID | answers.WITH_BODY,
)
async def preview_template(
    template_id: UUID,
    body: PreviewRequest,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    worker: TemplateWorkerDep,
) -> RenderedPreview:
    """Render the template for one of the account's leads, under the render budget.

    422 if the lead lacks a value the template uses, or if rendering passes a
    limit (`extra.limit` names it). The unsubscribe link is a placeholder that
    unsubscribes no one.
    """
    template = await _fetch(pool, template_id, account)
    lead = await pool.fetchrow(
        "SELECT email, first_name, last_name, country, tags, attributes::text AS attributes "
        "FROM leads WHERE id = $1 AND account_id = $2",
        body.lead_id,
        account,
    )
    if lead is None:
        raise ProblemError(404, "lead not found")
    source = await compile_or_422(
        worker,
        template["subject"],
        template["html_body"],
        template["text_body"],
        settings.templates,
    )
    link = preview_link(settings.common.public_base_url)
    merge_vars = lead_merge_vars(lead)
    email = await worker.run(template_jobs.preview, source, settings.templates, merge_vars, link)
    return RenderedPreview(subject=email.subject, html=email.html, text=email.text)
