"""The `Idempotency-Key` value and a request's fingerprint.

The draft defines the field as a structured-field string (`"8e03978e-..."`); most
clients send the bare value, so both spellings name the same key. A key is 1-255
printable ASCII characters (a UUID is the recommended choice).
"""

from __future__ import annotations

import hashlib
import re

from starlette.datastructures import Headers
from starlette.types import Receive, Scope

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_SHAPE = "1-255 printable ASCII characters, e.g. a UUID"
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,255}")


class MalformedKey(ValueError):
    """The header is present but is not a key this API accepts."""


def parse_key(raw: str) -> str:
    """The key a header value carries; raises `MalformedKey`."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not _PRINTABLE.fullmatch(value):
        raise MalformedKey(f"{HEADER} must be {KEY_SHAPE}")
    return value


class Fingerprint:
    """SHA-256 of what makes two requests the same: method, path, query, media type, body.

    Fed the body as it streams through, so an import of gigabytes is never held.
    """

    def __init__(self, scope: Scope) -> None:
        media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        head = [scope["method"], scope["path"], scope.get("query_string", b"").decode(), media]
        self._hash = hashlib.sha256("\n".join(head).encode() + b"\n")

    def update(self, chunk: bytes) -> None:
        """Add the next piece of the body."""
        self._hash.update(chunk)

    def digest(self) -> bytes:
        """The fingerprint so far (the whole request once the body has been read)."""
        return self._hash.digest()


async def read_body(receive: Receive, fingerprint: Fingerprint) -> None:
    """Read what is left of the request body into `fingerprint` (stops at a disconnect)."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        fingerprint.update(message.get("body", b""))
        if not message.get("more_body", False):
            return
