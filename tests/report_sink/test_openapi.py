"""The reports API's OpenAPI schema: every error answer declared, examples on every operation."""

from __future__ import annotations

from typing import Any

from services.report_sink.config import Settings
from services.report_sink.main import create_app
from tests.openapi import api_operations, example_faults


class _Unused:
    """Stands for the ClickHouse clients and pool: building the schema touches none."""

    async def ping(self) -> None:
        raise AssertionError("not used")


def _spec() -> dict[str, Any]:
    unused: Any = _Unused()
    app = create_app(Settings(), reader=unused, analyst=unused, pool=unused, admin_token="t")
    return app.openapi()


def test_reports_openapi_declares_errors_on_every_operation() -> None:
    for path, method, operation in api_operations(_spec()):
        statuses = set(operation["responses"])
        assert {"401", "422"} <= statuses, (method, path)
        if path.startswith("/reports/"):
            assert "429" in statuses, (method, path)  # the API key's rate limit
        if "{" in path:
            assert "404" in statuses, (method, path)


def test_reports_openapi_examples_match_their_schemas() -> None:
    faults, checked = example_faults(_spec())
    assert faults == []
    assert checked > 15
