"""The OpenAPI schema documents every operation, and its examples are valid."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from services.campaign_api.api.models import campaigns, conditions, leads, templates
from services.campaign_api.api.routes import api_keys, segments, suppressions
from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.conditions import parse_condition
from shared.templating import CompiledTemplate, TemplateSource
from tests.openapi import api_operations, example_faults

MODELS: list[type[BaseModel]] = [
    segments.SegmentPreviewRequest,
    segments.SegmentPreview,
    campaigns.CampaignCreate,
    campaigns.CampaignUpdate,
    campaigns.Campaign,
    leads.LeadCreate,
    leads.LeadUpdate,
    leads.Lead,
    leads.ImportResult,
    conditions.ConditionWarning,
    templates.TemplateCreate,
    templates.TemplateUpdate,
    templates.Template,
    templates.PreviewRequest,
    templates.RenderedPreview,
    suppressions.SuppressionCreate,
    suppressions.SuppressionBulk,
    suppressions.Suppression,
    suppressions.BulkResult,
    api_keys.ApiKeyCreate,
    api_keys.ApiKey,
    api_keys.NewApiKey,
]


def _examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict), f"{model.__name__} has no examples"
    examples = extra["examples"]
    assert isinstance(examples, list) and examples
    return examples  # type: ignore[return-value]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_openapi_examples_validate(model: type[BaseModel]) -> None:
    for example in _examples(model):
        model.model_validate(example)


def test_openapi_example_condition_and_template_are_valid() -> None:
    parse_condition(segments.CONDITION_EXAMPLE)
    parse_condition(campaigns.CAMPAIGN_EXAMPLE["condition"])
    source = {k: v for k, v in templates.TEMPLATE_EXAMPLE.items() if k != "name"}
    CompiledTemplate(TemplateSource(**source))


def test_openapi_every_operation_documented() -> None:
    app: FastAPI = create_app(Settings())
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description") or operation.get("summary"), where
            if path not in ("/healthz", "/readyz"):
                assert {"401", "429"} <= set(operation["responses"]), where


def test_openapi_every_error_answer_is_a_problem_document() -> None:
    spec = create_app(Settings()).openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        if path in ("/healthz", "/readyz"):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path)


def test_openapi_declares_the_problems_routes_give() -> None:
    paths = create_app(Settings()).openapi()["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return {s for s in paths[path][method]["responses"] if int(s) >= 400}

    assert statuses("/leads/import", "post") == {"401", "409", "413", "415", "422", "429"}
    assert statuses("/campaigns/{campaign_id}/pause", "post") == {"401", "404", "409", "422", "429"}
    patch = {"401", "404", "409", "413", "415", "422", "429"}
    assert statuses("/campaigns/{campaign_id}", "patch") == patch
    assert statuses("/campaigns/{campaign_id}", "delete") == {"401", "404", "409", "422", "429"}
    assert statuses("/templates/{template_id}", "delete") == {"401", "404", "409", "422", "429"}
    preview = {"401", "409", "413", "415", "422", "429", "503"}
    assert statuses("/segments/preview", "post") == preview
    assert statuses("/api-keys", "get") == {"401", "429"}


def test_openapi_every_post_declares_idempotency_keys() -> None:
    for path, method, operation in api_operations(create_app(Settings()).openapi()):
        if method == "post":
            names = [p["name"] for p in operation.get("parameters", [])]
            assert "Idempotency-Key" in names, path
            assert {"409", "422"} <= set(operation["responses"]), path


def test_openapi_examples_on_every_operation_match_their_schemas() -> None:
    faults, checked = example_faults(create_app(Settings()).openapi())
    assert faults == []
    assert checked > 100
