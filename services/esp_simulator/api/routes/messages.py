"""`POST /v1/messages/bulk`: send up to 50 emails in one call.

This API speaks an ESP's own dialect, which the sender's simulator adapter parses
like a real provider's: `{"reason": ..., "detail": [...]}` for a bad request,
`{"detail": ...}` for a refusal, `retry_after_ms` when throttled. Its route class
keeps those answers out of the problem documents the rest of the app gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from services.esp_simulator.api.deps import ApiKey, SimulatorDep
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest, BulkResponse
from shared.metrics import SIMULATOR_CALLS


def _bad_request(exc: RequestValidationError) -> JSONResponse:
    """Validation errors answer 400 with a `reason` naming the first field at fault."""
    SIMULATOR_CALLS.labels("invalid").inc()
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return JSONResponse({"reason": f"{where}: {first['msg']}", "detail": errors}, status_code=400)


class EspDialectRoute(APIRoute):
    """A route answering its request and auth errors in the ESP's dialect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def in_dialect(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _bad_request(exc)
            except HTTPException as exc:
                body = {"detail": exc.detail}
                return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

        return in_dialect


router = APIRouter(
    prefix="/v1/messages", tags=["messages"], dependencies=[ApiKey], route_class=EspDialectRoute
)


def refusal_response(refusal: CallRefused) -> JSONResponse:
    """A refused call's answer: `detail`, and when to retry (`retry_after_ms`, Retry-After)."""
    body: dict[str, object] = {"detail": refusal.reason}
    headers: dict[str, str] = {}
    if refusal.retry_after_s is not None:
        body["retry_after_ms"] = math.ceil(refusal.retry_after_s * 1000)
        headers["Retry-After"] = str(max(1, math.ceil(refusal.retry_after_s)))
    return JSONResponse(body, status_code=refusal.status_code, headers=headers)


@router.post(
    "/bulk",
    response_model=BulkResponse,
    responses={
        400: {"description": "Malformed body or more than 50 messages; `reason` says which."},
        401: {"description": "Missing or wrong API key."},
        429: {"description": "Throttled: nothing accepted; retry after `Retry-After` seconds."},
        503: {"description": "Simulated server error: nothing accepted; retry."},
    },
)
async def send_bulk(body: BulkRequest, simulator: SimulatorDep) -> BulkResponse | JSONResponse:
    """Send up to 50 emails; one result per message, in request order.

    A message id accepted before is answered `accepted` with the same provider
    message id and is not sent again. `throttled` and `transient_error` may be
    retried; `rejected` is final. A 429 carries `Retry-After` (whole seconds)
    and `retry_after_ms` in the body.
    """
    answer = await simulator.send(body)
    if isinstance(answer, CallRefused):
        return refusal_response(answer)
    return BulkResponse(results=answer)
