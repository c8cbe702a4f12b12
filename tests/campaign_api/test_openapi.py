"""The OpenAPI schema documents every operation, and its examples are valid."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from services.campaign_api.api.models import campaigns, leads, templates
from services.campaign_api.api.routes import api_keys, segments, suppressions
from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.conditions import parse_condition
from shared.templating import CompiledTemplate, TemplateSource

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
                assert "401" in operation["responses"], where
