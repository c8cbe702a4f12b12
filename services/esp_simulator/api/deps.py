"""Dependencies of the simulator routes: the simulator state and the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.esp_simulator.engine import Simulator
from shared.metrics import SIMULATOR_CALLS

_bearer = HTTPBearer(auto_error=False)


async def _simulator(request: Request) -> Simulator:  # async: no threadpool hop per call
    simulator: Simulator = request.app.state.simulator
    return simulator


async def _api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected: str = request.app.state.api_key
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        SIMULATOR_CALLS.labels("unauthorized").inc()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


SimulatorDep = Annotated[Simulator, Depends(_simulator)]
ApiKey = Depends(_api_key)
