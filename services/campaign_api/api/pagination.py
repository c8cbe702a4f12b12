"""Keyset pagination: a page of items and the cursor of the next one (never OFFSET)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import asyncpg
from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.http.problems import invalid

T = TypeVar("T")
C = TypeVar("C", UUID, str)

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
CURSOR_DOC = "`next_cursor` of the previous page."


class Page(BaseModel, Generic[T]):
    """One page; pass `next_cursor` back as `cursor` for the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None = Field(None, examples=["8c5d1f3e-3b7a-4f0e-9a53-3b7a5d2f9c10"])


@dataclass(frozen=True)
class PageQuery(Generic[C]):
    """`limit` items after `cursor` (the key of the last item seen) in key order."""

    limit: int
    cursor: C | None

    def page(
        self, rows: Sequence[asyncpg.Record], item: Callable[[asyncpg.Record], T], key: str
    ) -> Page[T]:
        """The page of `rows` fetched with `LIMIT limit + 1` (the extra row: more follow),
        ordered by their column `key`, whose last value is the next cursor."""
        more = len(rows) > self.limit
        next_cursor = str(rows[self.limit - 1][key]) if more else None
        return Page(items=[item(r) for r in rows[: self.limit]], next_cursor=next_cursor)


def _id_page(
    limit: Limit = 100, cursor: Annotated[UUID | None, Query(description=CURSOR_DOC)] = None
) -> PageQuery[UUID]:
    return PageQuery(limit, cursor)


def _text_page(
    limit: Limit = 100, cursor: Annotated[str | None, Query(description=CURSOR_DOC)] = None
) -> PageQuery[str]:
    return PageQuery(limit, cursor)


IdPage = Annotated[PageQuery[UUID], Depends(_id_page)]  # keyed by a uuid (leads, templates)
TextPage = Annotated[PageQuery[str], Depends(_text_page)]  # keyed by text (suppressions)


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
