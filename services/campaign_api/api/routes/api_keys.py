"""API keys of the caller's account: list, create (shown once), revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.api.models.common import Name
from shared.auth import KEY_COLUMNS as COLUMNS
from shared.auth import CurrentAccount, add_key
from shared.http import answers
from shared.http.problems import ProblemError
from shared.http.state import PoolDep

router = APIRouter(prefix="/api-keys", tags=["api keys"], responses=answers.AUTHENTICATED)

KEY_EXAMPLE: dict[str, Any] = {
    "id": "3d2e1f00-aaaa-4bbb-8ccc-000000000001",
    "name": "ci",
    "prefix": "1a2b3c4d",
    "created_at": "2026-11-23T09:00:00Z",
    "last_used_at": None,
    "revoked_at": None,
}


class ApiKeyCreate(BaseModel):
    """A label for the new key."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "ci"}]})

    name: Name = "default"


class ApiKey(BaseModel):
    """A key's metadata; the secret is never shown again."""

    model_config = ConfigDict(json_schema_extra={"examples": [KEY_EXAMPLE]})

    id: UUID
    name: str
    prefix: str = Field(description="The public part of the key (`fo_<prefix>_...`).")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKey(ApiKey):
    """A new key: `key` is shown this once only."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**KEY_EXAMPLE, "key": "fo_1a2b3c4d_..."}]}
    )

    key: str


@router.get("", response_model=list[ApiKey])
async def list_keys(account: CurrentAccount, pool: PoolDep) -> list[ApiKey]:
    """Every key of the account, revoked ones included."""
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY created_at, id", account
    )
    return [ApiKey(**dict(r)) for r in rows]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=NewApiKey, responses=answers.WITH_BODY
)
async def create_key(body: ApiKeyCreate, account: CurrentAccount, pool: PoolDep) -> NewApiKey:
    """Make a new key for the account. Its secret is in this answer only."""
    row, plaintext = await add_key(pool, account, body.name)
    return NewApiKey(**dict(row), key=plaintext)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=answers.BY_ID)
async def revoke_key(key_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Revoke a key at once (404 if it is not this account's or already revoked)."""
    done = await pool.execute(
        "UPDATE api_keys SET revoked_at = now() "
        "WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL",
        key_id,
        account,
    )
    if done == "UPDATE 0":
        raise ProblemError(404, "key not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
