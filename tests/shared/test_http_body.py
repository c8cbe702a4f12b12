"""The shared body limit (declared and streamed, per path) and the JSON body read after checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Header, Request
from pydantic import BaseModel, Field

from shared.http.body_limit import BodyLimit
from shared.http.json_body import json_body, json_body_doc
from shared.http.problems import MEDIA_TYPE, ProblemError, install_problem_handlers

LIMIT = 100


class Query(BaseModel):
    query: str = Field(min_length=1)


async def _admin(token: Annotated[str | None, Header()] = None) -> None:
    if token != "ok":
        raise ProblemError(401, "missing or wrong token")


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, default=LIMIT, paths={"/upload": 10 * LIMIT, "/files/": 5})

    @app.post("/items")
    async def items(body: Query) -> dict[str, int]:
        return {"length": len(body.query)}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    @app.post("/sql", dependencies=[Depends(_admin)], openapi_extra=json_body_doc(Query))
    async def sql(body: Annotated[Query, Depends(json_body(Query))]) -> dict[str, str]:
        return {"query": body.query}

    return app


class Chunks:
    """A streamed (chunked) request body that records how much of it was pulled."""

    def __init__(self, size: int, chunk: int = 10) -> None:
        self.parts = [b"x" * chunk] * (size // chunk)
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.pulled += 1
            yield part


async def _post(path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, **kwargs)  # type: ignore[arg-type]


async def test_declared_length_over_the_limit_is_413_before_reading() -> None:
    body = Chunks(LIMIT * 3)
    headers = {"Content-Length": str(LIMIT * 3)}
    response = await _post("/items", content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.json()["detail"] == f"request body larger than the limit of {LIMIT} bytes"
    assert body.pulled == 0


async def test_streamed_body_over_the_limit_is_413_as_soon_as_it_passes() -> None:
    body = Chunks(LIMIT * 5)
    response = await _post("/items", content=body)
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert body.pulled == LIMIT // 10 + 1


async def test_limit_is_chosen_per_path_exact_or_prefix() -> None:
    assert (await _post("/upload", content=b"x" * (LIMIT * 5))).json() == {"length": LIMIT * 5}
    assert (await _post("/upload", content=b"x" * (LIMIT * 11))).status_code == 413
    assert (await _post("/files/a", content=b"x" * 6)).status_code == 413
    assert BodyLimit(_app(), default=1, paths={"/files/": 5}).limit_for("/filesystem") == 1


async def test_body_under_the_limit_reaches_the_route() -> None:
    response = await _post("/items", json={"query": "SELECT 1"})
    assert response.json() == {"length": 8}


async def test_content_length_not_a_number_is_400() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        request = client.build_request("POST", "/items", content=b"{}")
        request.headers["Content-Length"] = "lots"
        response = await client.send(request)
    assert response.status_code == 400 and response.json()["detail"].startswith("Content-Length")


async def test_json_body_is_not_read_before_the_caller_is_checked() -> None:
    body = Chunks(LIMIT // 2)
    response = await _post("/sql", content=body)
    assert response.status_code == 401
    assert body.pulled == 0


async def test_json_body_after_checks_validates_like_fastapi() -> None:
    ok = {"token": "ok"}
    assert (await _post("/sql", json={"query": "SELECT 1"}, headers=ok)).json() == {
        "query": "SELECT 1"
    }
    empty = (await _post("/sql", json={"query": ""}, headers=ok)).json()
    assert empty["status"] == 422 and empty["errors"][0]["loc"] == ["body", "query"]
    broken = (await _post("/sql", content=b"{", headers=ok)).json()
    assert broken["status"] == 422 and broken["errors"][0]["loc"] == ["body"]


def test_json_body_doc_documents_the_request_body() -> None:
    operation = _app().openapi()["paths"]["/sql"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["query"]
