"""JSON bodies nested deeper than Python's json can decode, read without a recursion error.

Python's json (FastAPI's decoder) recurses once per level and gives up near the
interpreter's recursion limit (under 1,000 levels); FastAPI then answers 400 "There was
an error parsing the body", naming neither a limit nor a place. A route of a router made
with `route_class=BoundedJsonRoute` decodes such a body with every container nested
deeper than `MAX_DEPTH` replaced by a `Pruned` marker (found by a scan of the tokens, no
recursion), then validates as usual.

Why pruning cannot change an answer: nothing that validates a Fanout body looks that
deep (a condition's 16 levels and its values end by level 34 of the body), so they see
exactly what they would in the full body and name their own limit and path (the
condition parser's "at most 16 levels of nesting" at `$.not.all[0]...`). A marker is no
JSON value: no typed field accepts one, and only an `Any` field that no validator walks
could keep one (none does on these routes).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

MAX_DEPTH = 64

# A JSON string (escapes included) or a bracket: brackets inside strings are not nesting.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_MARK = "\x00pruned"  # the key of the object standing for a pruned container
_MARK_JSON = json.dumps(_MARK)


@dataclass(frozen=True)
class Pruned:
    """Where a JSON body held a container nested deeper than `MAX_DEPTH` (a character offset)."""

    offset: int


def decode_pruned(raw: bytes) -> Any:
    """The JSON value of `raw`, containers deeper than `MAX_DEPTH` replaced by `Pruned`.

    A scan of every token (about 0.5 s for 1 MiB of brackets), so only for bodies the
    recursive decoder refused. What lies past the limit is not read, so not checked as
    JSON either (it can never be accepted). Raises `ValueError` for what is not JSON.
    """
    return json.loads(prune(raw.decode("utf-8"), MAX_DEPTH), object_pairs_hook=_marker_or_dict)


def prune(text: str, depth: int) -> str:
    """`text` with each container opened deeper than `depth` replaced by a marker object."""
    parts: list[str] = []
    level, kept_until, cut_from = 0, 0, -1
    for token in _TOKEN.finditer(text):
        char = text[token.start()]
        if char in "[{":
            level += 1
            if level == depth + 1:
                cut_from = token.start()
        elif char in "]}":
            if level == depth + 1 and cut_from >= 0:
                parts += [text[kept_until:cut_from], _marker(cut_from)]
                kept_until, cut_from = token.end(), -1
            level -= 1
    if cut_from >= 0:  # never closed: the text is not JSON, and stays so without its tail
        return "".join([*parts, text[kept_until:cut_from], _marker(cut_from)])
    parts.append(text[kept_until:])
    return "".join(parts)


def _marker(offset: int) -> str:
    return f"{{{_MARK_JSON}: {offset}}}"


def _marker_or_dict(pairs: list[tuple[str, Any]]) -> Any:
    if len(pairs) == 1 and pairs[0][0] == _MARK:
        return Pruned(pairs[0][1])
    return dict(pairs)


class BoundedJsonRequest(Request):
    """A request whose JSON body of any depth decodes: `json.loads`, else `decode_pruned`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            try:
                self._json = json.loads(raw)
            except RecursionError:  # the scan takes a while: off the event loop
                self._json = await asyncio.to_thread(decode_pruned, raw)
        return self._json


class BoundedJsonRoute(APIRoute):
    """`APIRouter(route_class=BoundedJsonRoute)`: the router's bodies are `BoundedJsonRequest`s."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedJsonRequest(request.scope, request.receive))

        return bounded
