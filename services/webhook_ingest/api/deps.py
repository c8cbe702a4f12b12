"""Dependencies of the routes, as `Annotated` aliases over what the lifespan put in app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.webhook_ingest.config import Settings
from services.webhook_ingest.recorder import Recorder
from shared.http.state import from_state

SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]
RecorderDep = Annotated[Recorder, Depends(from_state("recorder", Recorder))]


async def _raw_body(request: Request) -> bytes:
    # the size limit is the app's BodyLimit middleware (413 before or while reading)
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]
