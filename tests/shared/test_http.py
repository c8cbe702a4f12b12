"""The shared HTTP pieces: problem documents for every error, app-state dependencies."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from shared.http.problems import MEDIA_TYPE, ProblemError, install_problem_handlers, invalid
from shared.http.state import from_state


class Box:
    """Something a lifespan would put in app.state."""

    def __init__(self, value: str) -> None:
        self.value = value


BoxDep = Annotated[Box, Depends(from_state("box", Box))]


class Body(BaseModel):
    email: str
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.box = Box("kept")

    @app.get("/box")
    async def box(value: BoxDep) -> dict[str, str]:
        return {"value": value.value}

    @app.post("/items")
    async def items(body: Body) -> dict[str, int]:
        return {"count": body.count}

    @app.get("/conflict")
    async def conflict() -> None:
        raise ProblemError(409, "cannot pause a campaign that is completed", extra={"state": "x"})

    @app.get("/bad")
    async def bad() -> None:
        raise invalid(["body", "from_email"], "domain not verified", "domain_unverified")

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(404, "campaign not found")

    return app


async def _call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_state_dependency_returns_the_object_from_app_state() -> None:
    response = await _call("GET", "/box")
    assert response.json() == {"value": "kept"}


async def test_validation_error_is_a_problem_naming_each_field() -> None:
    response = await _call("POST", "/items", json={"email": "a@b.c", "count": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == MEDIA_TYPE
    body = response.json()
    assert body["status"] == 422 and body["title"] == "Unprocessable Entity"
    assert body["detail"].startswith("body.count:")
    assert [e["loc"] for e in body["errors"]] == [["body", "count"]]


async def test_problem_error_keeps_status_detail_and_extra() -> None:
    body = (await _call("GET", "/conflict")).json()
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "cannot pause a campaign that is completed",
        "extra": {"state": "x"},
    }


async def test_invalid_names_the_field_at_fault() -> None:
    response = await _call("GET", "/bad")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", "from_email"], "msg": "domain not verified", "type": "domain_unverified"}
    ]


async def test_http_exception_becomes_a_problem() -> None:
    response = await _call("GET", "/missing")
    assert response.status_code == 404
    assert response.json()["detail"] == "campaign not found"
    assert response.headers["content-type"] == MEDIA_TYPE
