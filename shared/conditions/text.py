"""Case folding and LIKE escaping that Python and Postgres apply identically.

Case-insensitive operators fold ASCII letters only (A-Z → a-z). Postgres does exactly this
for `lower(x COLLATE "C")` whatever the database locale, and Python does it with
`str.translate`; full Unicode folding (Python's `.lower()`, libc's towlower) differs between
the two and between locales, so other letters compare exactly as written.
"""

from __future__ import annotations

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(value: str) -> str:
    """ASCII-only lower case: the Python twin of SQL `lower(x COLLATE "C")`."""
    return value.translate(_ASCII_LOWER)


def like_literal(value: str) -> str:
    """`value` as a LIKE pattern matching only itself (backslash is LIKE's default escape)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
