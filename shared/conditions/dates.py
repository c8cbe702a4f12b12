"""The one date format the language knows, shared by condition values and attribute values.

A date is `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]` (no offset
means UTC), years 1000-9999. The same regular expression guards the SQL cast of attribute
strings, so Python and Postgres agree on which strings are dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Plain [0-9] (not \d: Python's \d matches any Unicode digit); no quotes or backslashes,
# so the pattern can sit in SQL text as a literal.
DATE_PATTERN = (
    "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    "(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?"
)
_DATE = re.compile(DATE_PATTERN)
DATE_HINT = "an ISO 8601 date like '2024-05-01' or '2024-05-01T12:00:00Z'"


def parse_date(text: str) -> datetime | None:
    """The aware datetime `text` denotes, or None when it is not a date in the one format."""
    if not _DATE.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:  # a day the month does not have, e.g. 2023-02-29
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
