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

The ids stay the text they came as: only the canonical spelling (lowercase, hyphenated,
which is what `str(UUID)` writes, so the webhooks echo them unchanged) is taken here, and
the message ids and the ids of a call are each checked by one regular expression over
the call's values joined by newlines (which neither pattern lets through) instead of one
per field: a pattern per field was half of the decoding's time, and a UUID object per id
was hashed, serialised, tracked by the collector and freed again for every email.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from typing import Annotated

import msgspec
import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.esp_simulator.api.routes.messages import refusal_response
from services.esp_simulator.engine import Answer, CallRefused, Simulator
from services.esp_simulator.events import Email, MessageIds
from services.esp_simulator.protocol import MAX_MESSAGES

BULK_PATH = "/v1/messages/bulk"

# Stricter than BulkMessage's pattern (printable ASCII only), so whatever matches here
# matches there; other ids take the full validation. One match covers every message id of
# a call, joined by newlines (outside the class, so no id can span two lines).
_MESSAGE_IDS = re.compile(r"(?:<[!-;=?A-~]+@[!-;=?A-~]+>\n)*")
_MESSAGE_ID_MAX = 998  # BulkMessage's max_length (its min_length, 3, is below the pattern's)
# A UUID as `str(UUID)` writes it, which pydantic reads as that same UUID; the account,
# campaign and lead id of every message of a call, joined by newlines.
_UUIDS = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n)*")
_JSON = b"application/json"


class _Metadata(msgspec.Struct):
    """`MessageMetadata`: other keys are ignored; the ids are checked by `parse_bulk`."""

    account_id: str
    campaign_id: str
    lead_id: str


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    """`BulkMessage`, field by field (the message id checked by `parse_bulk`)."""

    message_id: str
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
    messages = request.messages
    if not messages:  # required by BulkRequest (a default here only for ordering)
        return None
    message_ids = [m.message_id for m in messages]
    if max(map(len, message_ids)) > _MESSAGE_ID_MAX or not _each_matches(_MESSAGE_IDS, message_ids):
        return None
    metas = [m.metadata for m in messages]
    if not _each_matches(
        _UUIDS, [x for m in metas for x in (m.account_id, m.campaign_id, m.lead_id)]
    ):
        return None
    return [
        Email(message_id, m.to, MessageIds(meta.account_id, meta.campaign_id, meta.lead_id))
        for message_id, m, meta in zip(message_ids, messages, metas, strict=True)
    ]


def _each_matches(pattern: re.Pattern[str], values: list[str]) -> bool:
    """Whether every one of `values` is one line that `pattern` (a repetition of a line
    and its newline) reads: one match over all of them joined, and no value holding a
    newline of its own (two values in one)."""
    joined = "\n".join(values) + "\n"
    return joined.count("\n") == len(values) and pattern.fullmatch(joined) is not None


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
        # not held through the simulated latency: at 150 ms a sender's 128 calls in flight
        # would keep 128 bodies alive (bench/results/20261206T0420Z-round31, `ab_body`)
        del body
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
