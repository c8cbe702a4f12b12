"""What a client (the `fanout` CLI, the demo) shows of an error answer: one line.

The services answer every error with a problem document whose `detail` is written
for a person; anything else (a proxy's HTML page) is cut to its first line.
"""

from __future__ import annotations

import httpx

MAX_CHARS = 500


def error_line(response: httpx.Response) -> str:
    """`HTTP <status>: <detail>` on one line, from a problem document or the raw body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, str):
        detail = response.text
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    first = lines[0] if lines else response.reason_phrase
    return f"HTTP {response.status_code}: {first[:MAX_CHARS]}"
