"""`Annotated` dependency aliases shared by the routes."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from services.campaign_api.config import Settings
from shared.auth import CurrentAccount
from shared.topics import Topic, topic_name

__all__ = ["COMMON_RESPONSES", "CommandsTopic", "CurrentAccount", "PoolDep", "SettingsDep"]

# Answers every authenticated route can give, for the OpenAPI schema.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or revoked API key."},
    413: {"description": "Request body larger than the configured limit."},
}


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _commands_topic(request: Request) -> str:
    return topic_name(Topic.CAMPAIGN_LAUNCHES, _settings(request).common.topic_prefix)


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
SettingsDep = Annotated[Settings, Depends(_settings)]
CommandsTopic = Annotated[str, Depends(_commands_topic)]
