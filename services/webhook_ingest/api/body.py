"""Reading a request body under a size limit: the declared length, then the streamed bytes."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, or 413 once it exceeds `limit` bytes (400 for a bad Content-Length)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Content-Length is not a number")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"body exceeds the limit of {limit} bytes"
    )
