"""The one error of the analysts' SQL: the statement is refused, and why."""

from __future__ import annotations


class QueryRefused(ValueError):
    """The statement is not one the endpoint runs; the message says why (answered 400)."""
