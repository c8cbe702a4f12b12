"""Leads stored verbatim for the condition tests, written around the API on purpose.

The conditions read timestamps the API sets itself (created_at, unsubscribed_at...);
to test them at chosen values relative to a pinned NOW, the tests insert the rows
directly. One statement and one row shape serve the semantics and property tests.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

# updated_at is optional: a lead without one gets the column's default, now()
INSERT_LEAD = """
    INSERT INTO leads (account_id, email, first_name, last_name, country, tags, attributes,
                       created_at, updated_at, unsubscribed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, COALESCE($9, now()), $10)
"""


def lead_row(account_id: uuid.UUID, email: str, lead: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments of `INSERT_LEAD` for one lead given as a dict of its columns."""
    return (
        account_id,
        email,
        lead["first_name"],
        lead["last_name"],
        lead["country"],
        lead["tags"],
        json.dumps(lead["attributes"]),
        lead["created_at"],
        lead.get("updated_at"),
        lead["unsubscribed_at"],
    )
