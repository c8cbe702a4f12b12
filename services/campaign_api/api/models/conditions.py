"""A warning about a valid condition that probably does not say what was meant."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from shared.http.examples import example_config


class WarningType(StrEnum):
    """Why a comparison is suspicious."""

    UNKNOWN_ATTRIBUTE = "unknown_attribute"  # no lead of the account has the key
    ATTRIBUTE_TYPE = "attribute_type"  # the account's leads hold another JSON type there


class ConditionWarning(BaseModel):
    """A comparison that can match none of the account's leads as written; not an error."""

    model_config = example_config(
        {
            "path": "$.all[0].field",
            "type": "unknown_attribute",
            "msg": "no lead of this account has the attribute 'Plan'; did you mean "
            "attributes.plan?",
            "suggestions": ["attributes.plan"],
        }
    )

    path: str = Field(description="JSON path of the suspicious part of the condition.")
    type: WarningType
    msg: str = Field(description="What is suspicious, in words.")
    suggestions: list[str] = Field(
        default_factory=list,
        description="For `unknown_attribute`: close field names the leads do have; for "
        "`attribute_type`: the value spelled as the leads hold it (JSON text, e.g. `10`).",
    )


WARNINGS_DOC = (
    "Warnings about the condition (not errors): attribute keys no lead of the account has, "
    "and values whose JSON type differs from what the account's leads hold there."
)
