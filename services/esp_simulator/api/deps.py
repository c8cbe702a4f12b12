"""Dependencies of the simulator routes: the simulator state and the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.esp_simulator.engine import Simulator
from shared.http.state import from_state
from shared.metrics import SIMULATOR_CALLS

_bearer = HTTPBearer(auto_error=False)

SimulatorDep = Annotated[Simulator, Depends(from_state("simulator", Simulator))]
ApiKeyDep = Annotated[str, Depends(from_state("api_key", str))]


async def _api_key(
    expected: ApiKeyDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        SIMULATOR_CALLS.labels("unauthorized").inc()
        # the bulk API's own dialect ({"detail": ...}), answered by its route class
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiKey = Depends(_api_key)
