"""`POST /v1/messages/bulk`: send up to 50 emails in one call."""

from __future__ import annotations

import math

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.esp_simulator.api.deps import ApiKey, SimulatorDep
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest, BulkResponse

router = APIRouter(prefix="/v1/messages", tags=["messages"], dependencies=[ApiKey])


def _refusal_response(refusal: CallRefused) -> JSONResponse:
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
        return _refusal_response(answer)
    return BulkResponse(results=answer)
