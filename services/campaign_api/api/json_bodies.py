"""415 for a JSON route's body sent as something else.

`curl -d '{"email": ...}'` without `-H 'Content-Type: application/json'` sends the JSON
as a form (`application/x-www-form-urlencoded`); FastAPI would then validate the raw
bytes and answer a puzzling 422 ("Input should be a valid dictionary"). This app-wide
dependency answers 415 saying what to send instead (FastAPI reads a body as JSON only
under a JSON Content-Type: without one, too, it would answer that 422).
"""

from __future__ import annotations

from fastapi import Request

from shared.http.problems import ProblemError


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


async def require_json_body(request: Request) -> None:
    """Refuse a non-JSON body on a route whose body is a JSON model (415)."""
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return  # no JSON body (the lead import reads its own formats)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not _is_json(media) and await request.body():  # read already: FastAPI caches it
        raise ProblemError(
            415,
            f"send the body as JSON with Content-Type: application/json (got "
            f"{media or 'no Content-Type'}); with curl: -H 'Content-Type: application/json'",
        )
