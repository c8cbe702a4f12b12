"""The fast path of `POST /v1/messages/bulk`: the common call answered without FastAPI.

The simulator stands in for an ESP in benchmarks, so every microsecond it spends per
email is taken from the services measured beside it. Most bulk calls are authorised and
well formed; this ASGI middleware answers those itself: the body parsed by orjson and
checked field by field against `BulkRequest`'s rules (`parse_bulk`), the engine called
on plain emails, the answer written by orjson. Anything it is not sure of (another key
or content type, a field that is not plainly valid: an id in another UUID spelling, a
message id outside printable ASCII, a JSON document orjson refuses) goes to the FastAPI
route with the body unread, which accepts or refuses it exactly as before: the fast
path only ever takes requests the route would accept, and answers them the same.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

import msgspec
import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.esp_simulator.api.routes.messages import refusal_response
from services.esp_simulator.engine import Answer, CallRefused, Simulator
from services.esp_simulator.events import Email, MessageIds
from services.esp_simulator.protocol import MAX_MESSAGES

BULK_PATH = "/v1/messages/bulk"

# Stricter than BulkMessage's pattern (printable ASCII only; `\Z`, not `$`, which would let
# a final newline through), so whatever matches here matches there; other ids take the
# full validation.
_MESSAGE_ID = r"^<[!-;=?A-~]+@[!-;=?A-~]+>\Z"
_JSON = b"application/json"


class _Metadata(msgspec.Struct):
    """`MessageMetadata`: other keys are ignored. msgspec reads a UUID in its hyphenated or
    32-digit form, both of which pydantic reads too."""

    account_id: UUID
    campaign_id: UUID
    lead_id: UUID


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    """`BulkMessage`, field by field."""

    message_id: Annotated[str, msgspec.Meta(min_length=3, max_length=998, pattern=_MESSAGE_ID)]
    to: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    subject: Annotated[str, msgspec.Meta(max_length=998)]
    metadata: _Metadata
    html: str = ""
    text: str = ""
    headers: dict[str, str] = {}


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    """`BulkRequest`, field by field (`from` by its JSON name only)."""

    sender: Annotated[str, msgspec.Meta(min_length=3, max_length=998)] = msgspec.field(name="from")
    messages: Annotated[list[_Message], msgspec.Meta(max_length=MAX_MESSAGES)] = []
    reply_to: str | None = None


_decoder = msgspec.json.Decoder(_Request)


def parse_bulk(body: bytes) -> list[Email] | None:
    """The emails of a bulk call body that `BulkRequest` surely accepts, else None (the
    caller then validates it in full). msgspec decodes and checks it in one pass against
    a copy of `BulkRequest`'s rules (keys, types, lengths, patterns) that is no looser."""
    try:
        request = _decoder.decode(body)
    except msgspec.DecodeError:  # ValidationError is one
        return None
    if not request.messages:  # required by BulkRequest (a default here only for ordering)
        return None
    emails: list[Email] = []
    for message in request.messages:
        meta = message.metadata
        ids = MessageIds(meta.account_id, meta.campaign_id, meta.lead_id)
        emails.append(Email(message.message_id, message.to, ids))
    return emails


def answer_body(answers: Sequence[Answer]) -> bytes:
    """`BulkResponse` as the route writes it: every field of every result, in order."""
    return orjson.dumps(
        {
            "results": [
                {
                    "message_id": message_id,
                    "status": status,
                    "provider_message_id": provider_message_id,
                    "reason": reason,
                }
                for message_id, status, provider_message_id, reason in answers
            ]
        }
    )


def _authorised(scope: Scope, key: str) -> bool | None:
    """True for the one form of a right key (`Bearer <key>`, JSON content); None when the
    route must judge (another form, a wrong key, another content type)."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value
        elif name == b"content-type" and content_type is None:
            content_type = value
    if content_type is None or content_type.lower().partition(b";")[0].strip() != _JSON:
        return None
    if authorization is None or not authorization.startswith(b"Bearer "):
        return None
    return hmac.compare_digest(authorization[7:], key.encode()) or None


class BulkFastPath:
    """ASGI middleware: answers plainly valid, authorised bulk calls itself; every other
    request, and every bulk call it is not sure of, goes to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != BULK_PATH:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        if not _authorised(scope, state.api_key):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away
            return
        emails = parse_bulk(body)
        if emails is None:
            await self.app(scope, _replay(body, receive), send)
            return
        simulator: Simulator = state.simulator
        answer = await simulator.send_emails(emails)
        if isinstance(answer, CallRefused):
            await refusal_response(answer)(scope, receive, send)
            return
        response = Response(answer_body(answer), media_type="application/json")
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives `body` (already read) first, then the connection's."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
