"""Templates: CRUD (validated at save time) and a per-lead preview."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
import orjson
from fastapi import APIRouter, Query, Response, status

from services.campaign_api.api.deps import (
    AUTHENTICATED,
    BY_ID,
    WITH_BODY,
    CurrentAccount,
    PoolDep,
    SettingsDep,
)
from services.campaign_api.api.models.templates import (
    PreviewRequest,
    RenderedPreview,
    Template,
    TemplateCreate,
    TemplateUpdate,
)
from services.campaign_api.api.pagination import Limit, Page
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.templating import CompiledTemplate, TemplateError, TemplateSource
from shared.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url

router = APIRouter(prefix="/templates", tags=["templates"], responses=AUTHENTICATED)

COLUMNS = "id, name, subject, html_body, text_body, created_at, updated_at"
NOT_FOUND = "template not found"
PREVIEW_CAMPAIGN = UUID(int=0)


def compile_or_422(subject: str, html_body: str, text_body: str) -> CompiledTemplate:
    """The compiled template, or 422 naming the part and line at fault."""
    try:
        return CompiledTemplate(TemplateSource(subject, html_body, text_body))
    except TemplateError as exc:
        raise invalid(["body", exc.part], exc.message, "template", line=exc.line) from exc


async def _fetch(pool: asyncpg.Pool, template_id: UUID, account: UUID) -> asyncpg.Record:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM templates WHERE id = $1 AND account_id = $2", template_id, account
    )
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return row


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Template, responses=WITH_BODY)
async def create_template(body: TemplateCreate, account: CurrentAccount, pool: PoolDep) -> Template:
    """Save a template. Syntax errors and unknown variables answer 422 with part and line."""
    compile_or_422(body.subject, body.html_body, body.text_body)
    row = await pool.fetchrow(
        f"""
        INSERT INTO templates (account_id, name, subject, html_body, text_body)
        VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}
        """,
        account,
        body.name,
        body.subject,
        body.html_body,
        body.text_body,
    )
    return Template(**dict(row))


@router.get("", response_model=Page[Template], responses=problem_responses(422))
async def list_templates(
    account: CurrentAccount,
    pool: PoolDep,
    limit: Limit = 100,
    cursor: Annotated[UUID | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Page[Template]:
    """The account's templates in id order (keyset pagination)."""
    rows = await pool.fetch(
        f"""
        SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND ($2::uuid IS NULL OR id > $2)
        ORDER BY id LIMIT $3
        """,
        account,
        cursor,
        limit + 1,
    )
    items = [Template(**dict(r)) for r in rows[:limit]]
    return Page[Template](items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.get("/{template_id}", response_model=Template, responses=BY_ID)
async def get_template(template_id: UUID, account: CurrentAccount, pool: PoolDep) -> Template:
    """One template."""
    return Template(**dict(await _fetch(pool, template_id, account)))


@router.patch("/{template_id}", response_model=Template, responses=BY_ID | WITH_BODY)
async def update_template(
    template_id: UUID, body: TemplateUpdate, account: CurrentAccount, pool: PoolDep
) -> Template:
    """Change some parts; the resulting template is validated before it is saved."""
    current = dict(await _fetch(pool, template_id, account))
    merged = {**current, **body.model_dump(exclude_unset=True, exclude_none=True)}
    compile_or_422(merged["subject"], merged["html_body"], merged["text_body"])
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


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=BY_ID | problem_responses(409),  # 409: a campaign uses it
)
async def delete_template(template_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a template; 409 while a campaign uses it."""
    try:
        done = await pool.execute(
            "DELETE FROM templates WHERE id = $1 AND account_id = $2", template_id, account
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise ProblemError(409, "a campaign uses this template") from exc
    if done == "DELETE 0":
        raise ProblemError(404, NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{template_id}/preview", response_model=RenderedPreview, responses=BY_ID | WITH_BODY)
async def preview_template(
    template_id: UUID,
    body: PreviewRequest,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
) -> RenderedPreview:
    """Render the template for one of the account's leads (422 if a variable is missing)."""
    template = await _fetch(pool, template_id, account)
    lead = await pool.fetchrow(
        "SELECT id, email, first_name, last_name, country, tags, attributes FROM leads "
        "WHERE id = $1 AND account_id = $2",
        body.lead_id,
        account,
    )
    if lead is None:
        raise ProblemError(404, "lead not found")
    compiled = compile_or_422(template["subject"], template["html_body"], template["text_body"])
    merge_vars = {k: v for k, v in dict(lead).items() if k != "id"}
    merge_vars["attributes"] = orjson.loads(merge_vars["attributes"])
    claim = UnsubscribeClaim(account, PREVIEW_CAMPAIGN, lead["id"], lead["email"])
    secret = settings.common.secret("link_secret")
    url = unsubscribe_url(settings.common.public_base_url, make_token(secret, claim))
    try:
        email = compiled.render(merge_vars, url)
    except TemplateError as exc:
        raise invalid(["template", exc.part], exc.message, "template_render") from exc
    return RenderedPreview(subject=email.subject, html=email.html, text=email.text)
