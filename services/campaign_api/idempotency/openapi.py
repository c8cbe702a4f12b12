"""Idempotency keys in the OpenAPI schema: the middleware's header and answers, declared
on every POST it covers (routes cannot declare what a middleware does)."""

from __future__ import annotations

from services.campaign_api.idempotency.request import HEADER, KEY_SHAPE, MAX_KEY_LENGTH
from shared.http.openapi import Operation, problem_answer

PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "example": "6b0f3c52-7d0e-4c57-9a43-2c1e0f6f1a11",
    "description": f"{KEY_SHAPE}. A retry with the same key and request within 24 h gets "
    "the first answer again (`Idempotent-Replayed: true`) and acts once; 409 while the first "
    "request still runs, 422 if the key came with another request.",
}
# 409: the first request with the key still runs; 422: the key came with another request
ANSWERS = (409, 422)


def declare_idempotency(method: str, _path: str, operation: Operation) -> None:
    """Add the `Idempotency-Key` header and its 409/422 answers to a POST."""
    if method != "post":  # every POST of the app: the middleware covers them all
        return
    operation.setdefault("parameters", []).append(PARAMETER)
    for status in ANSWERS:
        operation["responses"].setdefault(str(status), problem_answer(status))
