"""Segments: preview which leads a condition selects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.api.models.conditions import WARNINGS_DOC, ConditionWarning
from services.campaign_api.api.models.leads import Lead
from services.campaign_api.api.routes.leads import lead_from
from services.campaign_api.attribute_keys import attribute_catalogue
from services.campaign_api.condition_warnings import warnings_for
from services.campaign_api.segments import condition_or_422, preview_segment
from shared.auth import CurrentAccount
from shared.conditions.vocabulary import attribute_field, column_fields, value_shapes
from shared.http import answers
from shared.http.bounded_json import BoundedJsonRoute
from shared.http.problems import problem_responses
from shared.http.state import PoolDep

# bounded JSON: a condition nested 10,000 deep gets the parser's depth limit, not a 400
router = APIRouter(
    prefix="/segments",
    tags=["segments"],
    responses=answers.AUTHENTICATED,
    route_class=BoundedJsonRoute,
)

CONDITION_EXAMPLE: dict[str, Any] = {
    "all": [
        {"field": "country", "op": "in", "value": ["DE", "FR"]},
        {"field": "tags", "op": "contains", "value": "vip"},
        {"field": "created_at", "op": "within_last", "value": {"days": 30}},
    ]
}


class SegmentPreviewRequest(BaseModel):
    """A condition over lead fields (see docs/conditions.md)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"condition": CONDITION_EXAMPLE}]}
    )

    condition: Any = Field(description="A JSON condition (docs/conditions.md).")


class SegmentPreview(BaseModel):
    """How many leads match, and a few of them; warnings if the condition looks mistaken."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"matched": 1234, "sample": [], "warnings": []}]}
    )

    matched: int
    sample: list[Lead]
    warnings: list[ConditionWarning] = Field(default_factory=list, description=WARNINGS_DOC)


# 503 (with Retry-After): the count took longer than its time limit and was cancelled
@router.post(
    "/preview", response_model=SegmentPreview, responses=answers.WITH_BODY | problem_responses(503)
)
async def preview(
    body: SegmentPreviewRequest, account: CurrentAccount, pool: PoolDep
) -> SegmentPreview:
    """Count the account's leads matching `condition` and return up to 10 of them.

    An invalid condition answers 422 with the JSON path of the offending node
    (for example `$.all[1].value`) and what was expected there. A valid condition that
    names an attribute key no lead has, or compares with a value of another JSON type
    than the leads hold (`"10"` for 10), is previewed with `warnings` saying so.
    """
    condition = condition_or_422(body.condition)
    matched, rows = await preview_segment(pool, account, condition, datetime.now(UTC), 10)
    warnings = await warnings_for(pool, account, condition)
    return SegmentPreview(matched=matched, sample=[lead_from(r) for r in rows], warnings=warnings)


class ConditionField(BaseModel):
    """A field a condition may compare, with the operators that apply to it."""

    field: str = Field(examples=["attributes.plan"])
    kind: str = Field(
        description="text, date or tags for a lead column; `attribute` for an attribute, "
        "whose comparison takes its type from the value (docs/conditions.md).",
        examples=["attribute"],
    )
    nullable: bool = Field(description="Whether a lead may lack a value (see `exists`).")
    ops: list[str] = Field(examples=[["eq", "ne", "in", "exists"]])
    json_types: list[str] = Field(
        default_factory=list,
        description="For an attribute: the JSON types the account's leads have held under "
        "its key (`string`, `number`, `boolean`, ...).",
        examples=[["string"]],
    )


class ConditionVocabulary(BaseModel):
    """What a condition may say for this account: the lead columns, the attribute keys its
    leads have held, and which operators take a list, a duration or true/false."""

    fields: list[ConditionField]
    value_shapes: dict[str, list[str]] = Field(
        examples=[
            {
                "list": ["in", "not_in", "contains_any", "contains_all"],
                "duration": ["within_last"],
                "boolean": ["exists"],
                "duration_units": ["weeks", "days", "hours", "minutes", "seconds"],
            }
        ]
    )


@router.get("/fields", response_model=ConditionVocabulary)
async def condition_fields(account: CurrentAccount, pool: PoolDep) -> ConditionVocabulary:
    """The fields, operators and value shapes of the condition language for this account,
    for building conditions: every lead column, then `attributes.<key>` for each top-level
    attribute key the account's leads have held (with its JSON types), in key order; keys
    the language cannot name (other characters than letters, digits and `_`) are left out."""
    catalogue = await attribute_catalogue(pool, account)
    columns = [ConditionField(**vars(spec)) for spec in column_fields()]
    attributes = [
        ConditionField(**vars(spec), json_types=sorted(types))
        for key, types in sorted(catalogue.items())
        if (spec := attribute_field(key)) is not None
    ]
    return ConditionVocabulary(fields=columns + attributes, value_shapes=value_shapes())
