"""Provider configurations: the ESP accounts an account sends through (docs/providers.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import APIRouter, Response, status

from services.campaign_api.api.deps import SettingsDep
from services.campaign_api.api.models.providers import (
    ProviderConfig,
    ProviderConfigCreate,
    ProviderConfigUpdate,
)
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.providers import store
from services.campaign_api.providers.edits import update_config
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import invalid, problem_responses, validation_problem
from shared.http.state import PoolDep
from shared.provider_configs.kinds import (
    ValidationError,
    checked_credentials,
    checked_settings,
)
from shared.provider_configs.records import sealer

router = APIRouter(prefix="/providers", tags=["providers"], responses=answers.AUTHENTICATED)


def config_view(row: asyncpg.Record) -> ProviderConfig:
    """The API's view of a stored configuration (no credentials, ever)."""
    values = dict(row)
    values["settings"] = orjson.loads(values["settings"])
    return ProviderConfig.model_validate(values)


def _checked(kind: str, field: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` as `kind`'s settings or credentials; 422 naming each field at fault."""
    check = checked_settings if field == "settings" else checked_credentials
    try:
        return check(kind, values)
    except ValidationError as exc:
        raise validation_problem(exc.errors(), under=["body", field]) from exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderConfig,
    responses=answers.WITH_BODY | problem_responses(409),  # 409: the name is taken in this account
)
async def create_provider(
    body: ProviderConfigCreate, account: CurrentAccount, pool: PoolDep, settings: SettingsDep
) -> ProviderConfig:
    """Configure a provider to send through: its kind, settings and credentials (sealed at
    rest; the answer says only whether they are set, with a fingerprint)."""
    checked = _checked(body.kind, "settings", body.settings)
    credentials = _checked(body.kind, "credentials", body.credentials)
    if checked.get("base_url") and body.kind == "simulator" and not credentials.get("api_key"):
        # the stack's simulator key goes to the stack's simulator only
        raise invalid(["body", "credentials", "api_key"], "required with your own base_url")
    row = await store.create_config(
        pool,
        account,
        name=body.name,
        kind=body.kind,
        settings=checked,
        credentials=credentials,
        sealer=sealer(settings.common),
    )
    return config_view(row)


@router.get("", response_model=Page[ProviderConfig], responses=problem_responses(422))
async def list_providers(
    account: CurrentAccount, pool: PoolDep, page: IdPage
) -> Page[ProviderConfig]:
    """The account's provider configurations in id order (keyset pagination)."""
    rows = await store.list_configs(pool, account, after=page.cursor, limit=page.limit + 1)
    return page.page(rows, config_view, "id")


@router.get("/{config_id}", response_model=ProviderConfig, responses=answers.BY_ID)
async def get_provider(config_id: UUID, account: CurrentAccount, pool: PoolDep) -> ProviderConfig:
    """One provider configuration, with its state (and why it is disabled, if it is)."""
    return config_view(await store.fetch_config(pool, account, config_id))


@router.patch(
    "/{config_id}",
    response_model=ProviderConfig,
    responses=answers.BY_ID | answers.WITH_BODY | problem_responses(409),
)
async def update_provider(
    config_id: UUID,
    body: ProviderConfigUpdate,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
) -> ProviderConfig:
    """Rename, replace the settings, rotate the credentials (which makes a configuration
    disabled for bad credentials active again), disable or enable, make it the default.
    Campaigns sending through it pick the change up within a few seconds."""
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise invalid(["body", field], "cannot be null")
    kind = (await store.fetch_config(pool, account, config_id))["kind"]
    for field in ("settings", "credentials"):
        if field in changes:
            changes[field] = _checked(kind, field, changes[field])
    row = await update_config(pool, account, config_id, changes, sealer(settings.common))
    return config_view(row)


@router.delete(
    "/{config_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers.BY_ID
    | problem_responses(409),  # 409: a campaign not finished sends through it
)
async def delete_provider(config_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a provider configuration; 409 (with their ids) while campaigns that have not
    finished, drafts included, send through it."""
    await store.delete_config(pool, account, config_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
