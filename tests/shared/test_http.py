"""The shared HTTP pieces: problem documents for every error, app-state dependencies."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ValidationError

from shared.http import answers
from shared.http.client import error_line
from shared.http.problems import (
    MEDIA_TYPE,
    ProblemError,
    install_problem_handlers,
    invalid,
    problem_for,
    problem_responses,
    validation_problem,
)
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

    @app.get("/template")
    async def template() -> None:
        raise invalid(["body", "html_body"], "unknown variable 'plan'", "template", line=3)

    @app.get("/knobs")
    async def knobs() -> None:
        try:
            Body.model_validate({"email": 1, "count": "x"})
        except ValidationError as exc:
            raise validation_problem(exc.errors(), under=["body"]) from None

    @app.get("/domain")
    async def domain() -> None:
        raise KeyError("campaign 7")

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")

    problem_for(app, KeyError, lambda exc: ProblemError(404, f"no {exc.args[0]}"))
    return app


async def _call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
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


async def test_invalid_with_a_line_names_it_in_detail_and_errors() -> None:
    body = (await _call("GET", "/template")).json()
    assert body["detail"] == "body.html_body line 3: unknown variable 'plan'"
    assert body["errors"][0]["line"] == 3 and "path" not in body["errors"][0]


async def test_validation_problem_puts_each_location_under_the_prefix() -> None:
    body = (await _call("GET", "/knobs")).json()
    assert body["status"] == 422
    assert [e["loc"] for e in body["errors"]] == [["body", "email"], ["body", "count"]]
    assert body["detail"].startswith("body.email:") and body["detail"].endswith("(and 1 more)")


async def test_domain_exception_answers_the_problem_mapped_to_it() -> None:
    response = await _call("GET", "/domain")
    assert (response.status_code, response.json()["detail"]) == (404, "no campaign 7")


async def test_unexpected_error_is_a_500_problem_without_internals() -> None:
    response = await _call("GET", "/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == MEDIA_TYPE
    assert "secret" not in response.text


async def test_unknown_route_and_method_are_problems() -> None:
    assert (await _call("GET", "/nowhere")).json()["status"] == 404
    assert (await _call("DELETE", "/box")).json()["title"] == "Method Not Allowed"


def test_openapi_documents_declared_problem_responses() -> None:
    app = FastAPI()

    @app.get("/thing", responses=problem_responses(404, 422))
    async def thing(limit: int = 1) -> dict[str, int]:
        return {"limit": limit}

    spec = app.openapi()
    responses = spec["paths"]["/thing"]["get"]["responses"]
    for status in ("404", "422"):
        schema = responses[status]["content"][MEDIA_TYPE]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_shared_answer_sets_name_their_statuses() -> None:
    # the API services declare these alike; a change here changes every service's schema
    assert set(answers.AUTHENTICATED) == {401, 429}
    assert set(answers.WITH_BODY) == {413, 415, 422}
    assert set(answers.BY_ID) == {404, 422}
    assert answers.BY_ID[404]["description"] == "Not Found"


def test_error_line_shows_the_problem_detail_on_one_line() -> None:
    problem = httpx.Response(409, json={"status": 409, "detail": "cannot pause\nsecond line"})
    assert error_line(problem) == "HTTP 409: cannot pause"
    page = httpx.Response(502, text="\n<html>bad gateway</html>\nmore")
    assert error_line(page) == "HTTP 502: <html>bad gateway</html>"
    assert error_line(httpx.Response(503)) == "HTTP 503: Service Unavailable"
