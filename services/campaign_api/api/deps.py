"""`Annotated` dependency aliases shared by the routes (the problem answer sets they
declare are `shared.http.answers`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.campaign_api.campaigns.stalls import Stalls
from services.campaign_api.config import Settings
from shared.http.state import from_state
from shared.topics import Topic, topic_name

SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]
StallsDep = Annotated[Stalls, Depends(from_state("stalls", Stalls))]


async def _commands_topic(settings: SettingsDep) -> str:
    return topic_name(Topic.CAMPAIGN_LAUNCHES, settings.common.topic_prefix)


CommandsTopic = Annotated[str, Depends(_commands_topic)]
