"""Dependencies of the routes, as `Annotated` aliases over what the lifespan put in app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.webhook_ingest.api.body import read_limited
from services.webhook_ingest.config import Settings
from services.webhook_ingest.recorder import Recorder
from shared.http.state import from_state

SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]
RecorderDep = Annotated[Recorder, Depends(from_state("recorder", Recorder))]


async def _raw_body(request: Request, settings: SettingsDep) -> bytes:
    return await read_limited(request, settings.max_body_bytes)


RawBody = Annotated[bytes, Depends(_raw_body)]
