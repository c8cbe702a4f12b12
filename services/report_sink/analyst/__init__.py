"""Analysts' SQL on ClickHouse: one read-only statement, decided by ClickHouse's own parser.

    query text ─ parse (parseQueryToJSON, in the engine) ─ policy (allowed kinds, no
    OUTFILE/SETTINGS/FORMAT, no file or network functions) ─ [scope: every table read
    becomes a subquery filtered on the caller's account] ─ format (formatQueryFromJSON)
    ─ run on the read-only analyst session under time, memory, row and byte limits

What runs is the statement rebuilt from the checked tree, never the text as sent.
"""

from services.report_sink.analyst.errors import QueryRefused
from services.report_sink.analyst.runner import AnalystSql, SqlAnswer

__all__ = ["AnalystSql", "QueryRefused", "SqlAnswer"]
