"""Keyset pagination: a page of items and the cursor of the next one (never OFFSET)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field

from shared.http.problems import invalid

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]


class Page(BaseModel, Generic[T]):
    """One page; pass `next_cursor` back as `cursor` for the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None = Field(None, examples=["8c5d1f3e-3b7a-4f0e-9a53-3b7a5d2f9c10"])


def encode_time_cursor(created_at: datetime, item_id: UUID) -> str:
    """An opaque cursor for lists ordered by (created_at DESC, id DESC)."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{item_id}".encode()).decode()


def decode_time_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) inside a cursor made by `encode_time_cursor`, or 422."""
    try:
        when, _, item = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, UUID(item)
    except (ValueError, UnicodeError) as exc:
        raise invalid(["query", "cursor"], "not a cursor this API returned", "cursor") from exc
