"""The shared body limit (declared and streamed, per path) and the JSON body read after checks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
import requests
from fastapi import Depends, FastAPI, Header, Request
from pydantic import BaseModel, Field

from services.esp_simulator.testing import serving
from shared.http import body_limit
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


async def test_declared_length_over_the_limit_is_413_before_the_app_runs() -> None:
    body = Chunks(LIMIT * 3)
    headers = {"Content-Length": str(LIMIT * 3), "token": "ok"}
    response = await _post("/sql", content=body, headers=headers)
    assert response.status_code == 413  # not the route's answer, nor its dependency's
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.headers["connection"] == "close"
    assert response.json()["detail"] == f"request body larger than the limit of {LIMIT} bytes"
    assert body.pulled == len(body.parts)  # read and dropped: the client reads the answer


async def test_streamed_body_over_the_limit_is_413_once_it_passes() -> None:
    body = Chunks(LIMIT * 5)
    response = await _post("/items", content=body)
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert body.pulled == len(body.parts)


def _post_over_the_limit(base_url: str, size: int, times: int) -> Counter[object]:
    answers: Counter[object] = Counter()
    data = b'{"query": "' + b"x" * size + b'"}'
    for _ in range(times):
        try:
            with requests.Session() as session:
                response = session.post(f"{base_url}/items", data=data, timeout=10)
                answers[response.status_code, response.json()["status"]] += 1
        except requests.RequestException as exc:
            answers[type(exc).__name__] += 1
    return answers


async def test_over_the_limit_answer_reaches_a_client_still_sending() -> None:
    """Over real sockets, the client sending megabytes the server refuses: without the
    drain, uvicorn's close with unread bytes reset some connections before the client
    read its 413 (4 of 60 posts of 1.5 and 5 MB against a 1 MiB limit)."""
    async with serving(_app(), lifespan=False) as base_url:
        declared = await asyncio.to_thread(_post_over_the_limit, base_url, 2_000_000, 30)
    assert declared == {(413, 413): 30}


async def test_drain_stops_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body_limit, "DRAIN_BYTES", 25)
    body = Chunks(LIMIT * 10)
    response = await _post("/items", content=body, headers={"Content-Length": str(LIMIT * 10)})
    assert response.status_code == 413
    assert body.pulled == 3  # 30 bytes read, then answered


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
