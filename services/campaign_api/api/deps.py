"""`Annotated` dependency aliases shared by the routes, and the errors routes declare."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends

from services.campaign_api.campaigns.stalls import Stalls
from services.campaign_api.config import Settings
from shared.auth import CurrentAccount
from shared.http.problems import problem_responses
from shared.http.state import from_state
from shared.topics import Topic, topic_name

__all__ = [
    "AUTHENTICATED",
    "BY_ID",
    "WITH_BODY",
    "CommandsTopic",
    "CurrentAccount",
    "PoolDep",
    "SettingsDep",
    "StallsDep",
]

# Problem answers for the OpenAPI schema: every route of a router needs an API key (401)
# and counts against its rate limit (429); a route with a JSON body refuses one too large
# (413), not JSON (415) or invalid (422); a route naming an object by id answers 404 when
# it is not this account's and 422 for a malformed id.
AUTHENTICATED = problem_responses(401, 429)
WITH_BODY = problem_responses(413, 415, 422)
BY_ID = problem_responses(404, 422)

PoolDep = Annotated[asyncpg.Pool, Depends(from_state("pool", asyncpg.Pool))]
SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]
StallsDep = Annotated[Stalls, Depends(from_state("stalls", Stalls))]


async def _commands_topic(settings: SettingsDep) -> str:
    return topic_name(Topic.CAMPAIGN_LAUNCHES, settings.common.topic_prefix)


CommandsTopic = Annotated[str, Depends(_commands_topic)]
