"""Campaigns: drafts (validated on save), listing, and the lifecycle actions."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import APIRouter, Query, Response, status

from services.campaign_api.api.deps import CommandsTopic, SettingsDep, StallsDep
from services.campaign_api.api.models.campaigns import (
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    GuardPause,
    Held,
    ProviderWait,
)
from services.campaign_api.api.models.conditions import ConditionWarning
from services.campaign_api.api.pagination import (
    Limit,
    Page,
    decode_time_cursor,
    encode_time_cursor,
)
from services.campaign_api.campaigns.commands import (
    LaunchCheck,
    all_checks,
    apply_action,
    lock_campaign,
)
from services.campaign_api.campaigns.launch_check import check_launch
from services.campaign_api.campaigns.stalls import Stalled
from services.campaign_api.condition_warnings import warnings_for
from services.campaign_api.domains.senders import check_senders, require_verified_senders
from services.campaign_api.owned import fetch_owned
from services.campaign_api.providers.choice import check_provider, choose
from services.campaign_api.records import insert_campaign
from services.campaign_api.rendering import TemplateWorkerDep
from services.campaign_api.segments import condition_or_422
from shared.auth import CurrentAccount
from shared.campaigns import Action, State
from shared.http import answers
from shared.http.bounded_json import BoundedJsonRoute
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep

# bounded JSON: a condition nested 10,000 deep gets the parser's depth limit, not a 400
router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    responses=answers.AUTHENTICATED,
    route_class=BoundedJsonRoute,
)

NOT_FOUND = "campaign not found"
# A lifecycle action: not this account's campaign (404), not allowed from its state (409,
# with `extra.current_state`), or a launch whose `scheduled_at` has passed meanwhile (422).
ACTION = problem_responses(404, 409, 422)
EDITABLE = (
    "name",
    "from_email",
    "from_name",
    "reply_to",
    "template_id",
    "provider",
    "provider_config_id",
)


def campaign_from(
    row: asyncpg.Record | dict[str, Any],
    warnings: list[ConditionWarning] | None = None,
    stall: Stalled | None = None,
) -> Campaign:
    values = dict(row, warnings=warnings or [])
    values["condition"] = orjson.loads(values["condition"])
    now = datetime.now(UTC)
    values["provider_wait"] = ProviderWait.of(values, now)
    values["guard"] = GuardPause.of(values)
    values["guard_overridden_at"] = values.get("guard_override_at")
    values["held"] = Held.of(values, now)
    values["stalled"] = stall
    return Campaign.model_validate(values)


async def _check_draft(
    conn: asyncpg.Connection, account: UUID, values: dict[str, Any]
) -> list[ConditionWarning]:
    """Validate what cannot be checked by the model alone; raises 422 naming the field.
    Answers the condition's warnings (see condition_warnings)."""
    warnings = []
    if "condition" in values:
        warnings = await warnings_for(conn, account, condition_or_422(values["condition"]))
    if "template_id" in values:
        found = await conn.fetchval(
            "SELECT 1 FROM templates WHERE id = $1 AND account_id = $2",
            values["template_id"],
            account,
        )
        if found is None:
            raise invalid(["body", "template_id"], "no such template in this account")
    when = values.get("scheduled_at")
    if when is not None and when <= datetime.now(UTC):
        raise invalid(["body", "scheduled_at"], "must be in the future")
    await require_verified_senders(conn, account, values)
    return warnings


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Campaign, responses=answers.WITH_BODY
)
async def create_campaign(body: CampaignCreate, account: CurrentAccount, pool: PoolDep) -> Campaign:
    """Save a draft campaign; it sends through the provider configuration it names (or
    the account's default): 422 naming the field when it is not one of this account's.
    Its answer carries `warnings` about a condition that looks mistaken (an attribute key
    no lead has, a value of another type than the leads hold)."""
    values = body.model_dump()
    async with pool.acquire() as conn:
        warnings = await _check_draft(conn, account, values)
        await choose(conn, account, values)
        chosen = body.model_copy(update={k: values[k] for k in ("provider", "provider_config_id")})
        row = await insert_campaign(conn, account, chosen)
    return campaign_from(row, warnings)


@router.get("", response_model=Page[Campaign], responses=problem_responses(422))
async def list_campaigns(
    account: CurrentAccount,
    pool: PoolDep,
    stalls: StallsDep,
    state: Annotated[list[State] | None, Query(description="Only these states.")] = None,
    created_after: Annotated[datetime | None, Query(description="Created at or after.")] = None,
    created_before: Annotated[datetime | None, Query(description="Created before.")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Page[Campaign]:
    """The account's campaigns, newest first, filtered by state and creation time (keyset);
    each with `stalled` (null while it progresses)."""
    after_time, after_id = decode_time_cursor(cursor) if cursor else (None, None)
    rows = await pool.fetch(
        """
        SELECT * FROM campaigns
        WHERE account_id = $1
          AND ($2::text[] IS NULL OR state = ANY($2))
          AND ($3::timestamptz IS NULL OR created_at >= $3)
          AND ($4::timestamptz IS NULL OR created_at < $4)
          AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $7
        """,
        account,
        [s.value for s in state] if state else None,
        created_after,
        created_before,
        after_time,
        after_id,
        limit + 1,
    )
    page = rows[:limit]
    items = [
        campaign_from(r, stall=s) for r, s in zip(page, await stalls.of_rows(page), strict=True)
    ]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_time_cursor(items[-1].created_at, items[-1].id)
    return Page[Campaign](items=items, next_cursor=next_cursor)


@router.get("/{campaign_id}", response_model=Campaign, responses=answers.BY_ID)
async def get_campaign(
    campaign_id: UUID, account: CurrentAccount, pool: PoolDep, stalls: StallsDep
) -> Campaign:
    """A campaign: state, matched count and progress counters; `stalled` with the likely
    reason when it runs but its progress has not moved for the stall threshold."""
    row = await fetch_owned(pool, "campaigns", "*", account, campaign_id)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    [stall] = await stalls.of_rows([row])
    return campaign_from(row, stall=stall)


async def _lock_draft(
    conn: asyncpg.Connection, campaign_id: UUID, account: UUID, verb: str
) -> None:
    """Lock the account's draft `campaign_id` for this transaction; 404 if it is not the
    account's, 409 (with `extra.current_state`) if it is no longer a draft."""
    row = await lock_campaign(conn, campaign_id, account)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    if (state := row["state"]) != State.DRAFT:
        facts = {"current_state": state, "action": verb}
        done = f"{verb.removesuffix('e')}ed"
        raise ProblemError(409, f"only drafts can be {done}; this one is {state}", extra=facts)


@router.patch(
    "/{campaign_id}",
    response_model=Campaign,
    responses=answers.BY_ID | answers.WITH_BODY | problem_responses(409),
)
async def update_campaign(
    campaign_id: UUID, body: CampaignUpdate, account: CurrentAccount, pool: PoolDep
) -> Campaign:
    """Edit a draft (validated like a new one, `warnings` included); 409 with the current
    state otherwise."""
    changes = body.model_dump(exclude_unset=True)
    for field in (
        "name",
        "from_email",
        "template_id",
        "provider",
        "provider_config_id",
        "from_name",
    ):
        if field in changes and changes[field] is None:
            raise invalid(["body", field], "cannot be null")
    async with pool.acquire() as conn, conn.transaction():
        await _lock_draft(conn, campaign_id, account, "edit")
        warnings = await _check_draft(conn, account, changes)
        if "provider" in changes or "provider_config_id" in changes:
            await choose(conn, account, changes)
        if "condition" in changes:
            changes["condition"] = orjson.dumps(changes["condition"]).decode()
        names = [n for n in (*EDITABLE, "condition", "scheduled_at") if n in changes]
        sets = ", ".join(
            f"{n} = ${i + 3}{'::jsonb' if n == 'condition' else ''}" for i, n in enumerate(names)
        )  # column names come from the fixed list above, never from input
        updated = await conn.fetchrow(
            f"UPDATE campaigns SET {sets}{', ' if sets else ''}updated_at = now() "
            "WHERE id = $1 AND account_id = $2 RETURNING *",
            campaign_id,
            account,
            *(changes[n] for n in names),
        )
    return campaign_from(updated, warnings)


@router.delete(
    "/{campaign_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers.BY_ID | problem_responses(409),  # 409: not a draft (cancel it instead)
)
async def delete_campaign(campaign_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a draft. Any other state answers 409 with `extra.current_state`: a campaign
    that was launched keeps its record and reports (cancel it to stop it)."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock_draft(conn, campaign_id, account, "delete")
        await conn.execute("DELETE FROM campaigns WHERE id = $1", campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _act(
    action: Action,
    campaign_id: UUID,
    account: UUID,
    pool: asyncpg.Pool,
    topic: str,
    launch_check: LaunchCheck | None = None,
    override_guard: bool = False,
) -> Campaign:
    now = datetime.now(UTC)
    row = await apply_action(
        pool,
        account,
        campaign_id,
        action,
        topic=topic,
        now=now,
        launch_check=launch_check,
        override_guard=override_guard,
    )
    return campaign_from(row)


@router.post("/{campaign_id}/launch", status_code=202, response_model=Campaign, responses=ACTION)
async def launch_campaign(
    campaign_id: UUID,
    account: CurrentAccount,
    pool: PoolDep,
    topic: CommandsTopic,
    settings: SettingsDep,
    worker: TemplateWorkerDep,
) -> Campaign:
    """Launch a draft: `queued` now, or `scheduled` if it has a future `scheduled_at`.

    First its `from_email` and `reply_to` domains must be verified in this account
    (422 naming the field otherwise, docs/domains.md) and its provider configuration
    active (409 with the reason otherwise, docs/providers.md). Then the template is
    test-rendered for the leads the condition matches
    (one per group of leads that differ in what it reads): 422 naming the part,
    line, variable and how many leads lack it if it fails for any. The launch
    command is written to the outbox in the same transaction and relayed to
    `campaign.launches`; once this answers 202 it is never lost.
    """
    check = partial(
        check_launch,
        worker=worker,
        limits=settings.templates,
        public_base_url=settings.common.public_base_url,
    )
    checks = all_checks(check_senders, check_provider, check)
    return await _act(Action.LAUNCH, campaign_id, account, pool, topic, checks)


@router.post("/{campaign_id}/pause", status_code=202, response_model=Campaign, responses=ACTION)
async def pause_campaign(
    campaign_id: UUID, account: CurrentAccount, pool: PoolDep, topic: CommandsTopic
) -> Campaign:
    """Pause a scheduled, queued, resolving or sending campaign."""
    return await _act(Action.PAUSE, campaign_id, account, pool, topic)


@router.post("/{campaign_id}/resume", status_code=202, response_model=Campaign, responses=ACTION)
async def resume_campaign(
    campaign_id: UUID,
    account: CurrentAccount,
    pool: PoolDep,
    topic: CommandsTopic,
    override_guard: Annotated[
        bool,
        Query(
            description="Resume a campaign the guard paused (its `guard` is set) anyway: the "
            "guard then leaves it alone until it ends. Without it such a resume answers 409 "
            "with the guard's reason (docs/deliverability.md)."
        ),
    ] = False,
) -> Campaign:
    """Resume a paused campaign: `queued`, a new run continuing where the last one stopped;
    or `scheduled` again if it was paused before its `scheduled_at`, which is still ahead.
    Its sending domains must still be verified (422 naming the field otherwise), and its
    provider configuration active (409 with the reason otherwise). A campaign the guard
    paused for its bounces or complaints needs `override_guard=true` (409 naming the
    reason otherwise; nothing changes)."""
    checks = all_checks(check_senders, check_provider)
    return await _act(Action.RESUME, campaign_id, account, pool, topic, checks, override_guard)


@router.post("/{campaign_id}/cancel", status_code=202, response_model=Campaign, responses=ACTION)
async def cancel_campaign(
    campaign_id: UUID, account: CurrentAccount, pool: PoolDep, topic: CommandsTopic
) -> Campaign:
    """Cancel a campaign that has not finished."""
    return await _act(Action.CANCEL, campaign_id, account, pool, topic)
