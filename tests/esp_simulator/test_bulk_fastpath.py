"""The bulk API's fast path (`api/fastpath.py`) takes only what `BulkRequest` accepts,
and reads it the same: any body it parses, pydantic validates to the same emails."""

from __future__ import annotations

import copy
import tracemalloc
import uuid
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from services.esp_simulator.api import fastpath
from services.esp_simulator.api.fastpath import parse_bulk
from services.esp_simulator.engine import emails_of
from services.esp_simulator.events import Email
from services.esp_simulator.protocol import BulkRequest

_ID = uuid.UUID("7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0001")
# "…\n…": two values that each pass, in one field (the fast path checks a call's ids joined
# by newlines)
MESSAGE_IDS = st.sampled_from(
    [
        "<c1.l1@fanout.local>",
        "no-brackets",
        "<a@b>\n",
        "<é@b>",
        "<a@@b>",
        "<a b@c>",
        "<>",
        7,
        "<c1.l1@fanout.local>\n<c1.l2@fanout.local>",
        "<" + "x" * 994 + "@b>",
    ]
)
IDS = st.sampled_from(
    [
        str(_ID),
        str(_ID).upper(),
        _ID.hex,
        f"{{{_ID}}}",
        "nope",
        "",
        None,
        12,
        str(uuid.uuid4()),
        f"{_ID}\n{_ID}",
        f"{_ID}\n",
    ]
)
TEXTS: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=4), st.sampled_from(["x" * 321, "y" * 999, None, 3, []])
)
MISSING = object()
# the bulk API's published example (its OpenAPI schema): a body as the sender writes it
EXAMPLE: dict[str, Any] = BulkRequest.model_json_schema()["examples"][0]
TAGS = ["ok"] * 4 + ["off"]  # most fields right, some changed: bodies of both kinds


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message of the sender's, some fields changed or left out."""
    changes = {
        ("metadata", "account_id"): IDS,
        ("metadata", "campaign_id"): IDS,
        ("metadata", "lead_id"): IDS,
        ("metadata", "extra"): st.just("ignored"),
        ("message_id",): MESSAGE_IDS,
        ("to",): TEXTS,
        ("subject",): TEXTS,
        ("html",): TEXTS,
        ("text",): TEXTS,
        ("headers",): st.sampled_from([{}, {"A": 1}, None, []]),
        ("metadata",): TEXTS,
        ("other",): st.just(1),
    }
    message: dict[str, Any] = copy.deepcopy(EXAMPLE["messages"][0])
    message["message_id"] = f"<c1.l{draw(st.integers(0, 9))}@fanout.local>"
    for path, values in changes.items():
        if draw(st.sampled_from(TAGS)) == "ok":
            continue
        *parents, name = path
        target = message
        for parent in parents:
            if not isinstance(target.get(parent), dict):
                break
            target = target[parent]
        else:
            value = draw(st.one_of(values, st.just(MISSING)))
            if value is MISSING:
                target.pop(name, None)
            else:
                target[name] = value
    return message


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    body: dict[str, Any] = {
        "from": "Acme <news@acme.example>",
        "reply_to": None,
        "messages": draw(st.lists(messages(), min_size=1, max_size=3)),
    }
    changes = {
        "from": st.sampled_from(["ab", None, 1]),
        "from_": st.just("Acme <news@acme.example>"),
        "reply_to": st.sampled_from(["r@acme.example", 5]),
        "messages": st.one_of(
            st.integers(50, 51).map(lambda n: [body["messages"][0]] * n),
            st.sampled_from([[], None]),
        ),
    }
    for name, values in changes.items():
        if draw(st.sampled_from(TAGS)) == "off":
            value = draw(st.one_of(values, st.just(MISSING)))
            if value is MISSING:
                body.pop(name, None)
            else:
                body[name] = value
    return orjson.dumps(draw(st.sampled_from([body, body, [body]])))


@settings(max_examples=150, deadline=None)
@given(bodies())
def test_fast_path_takes_only_what_bulk_request_accepts_and_reads_it_the_same(body: bytes) -> None:
    emails = parse_bulk(body)
    if emails is None:
        return  # the route judges it: accepted or refused as before
    try:
        request = BulkRequest.model_validate_json(body)
    except ValidationError as exc:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"fast path took a body BulkRequest refuses: {exc}") from exc
    assert _read(emails) == _read(emails_of(request))
    for email in emails:  # kept as the text that came, which is `str()` of the UUID read
        ids = email.ids
        assert all(isinstance(i, str) for i in (ids.account_id, ids.campaign_id, ids.lead_id))


def test_fast_path_takes_the_senders_body() -> None:
    body = orjson.dumps(EXAMPLE)
    emails = parse_bulk(body)
    assert emails is not None
    assert _read(emails) == _read(emails_of(BulkRequest.model_validate_json(body)))


def _read(emails: list[Email]) -> list[tuple[str, ...]]:
    """What the engine reads of each email: its message id, recipient and ids as text."""
    return [
        (e.message_id, e.to, str(e.ids.account_id), str(e.ids.campaign_id), str(e.ids.lead_id))
        for e in emails
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("message_id",), "<c1.l1@fanout.local>\n<c1.l2@fanout.local>"),
        (("message_id",), "<c1.l1@fanout.local>\n"),
        (("message_id",), "<" + "x" * 995 + "@b>"),  # 999 characters
        (("metadata", "lead_id"), f"{_ID}\n{_ID}"),
        (("metadata", "account_id"), f"{_ID}\n"),
        (("metadata", "campaign_id"), str(_ID).upper()),  # pydantic's to judge, not ours
    ],
)
def test_fast_path_leaves_values_it_cannot_vouch_for_to_the_route(
    path: tuple[str, ...], value: str
) -> None:
    """Each of a call's message ids (and ids) is checked in one match over all of them
    joined by newlines: a value holding a newline must not pass as two."""
    body: dict[str, Any] = copy.deepcopy(EXAMPLE)
    target = body["messages"][0]
    *parents, name = path
    for parent in parents:
        target = target[parent]
    target[name] = value
    assert parse_bulk(orjson.dumps(body)) is None


async def test_the_body_is_not_held_while_the_engine_answers() -> None:
    """The engine holds a call through its simulated latency (150 ms in benchmarks, with a
    sender's 128 calls in flight): what it needs is the parsed emails, not the body they
    came in. Checked by the memory still allocated by the body's read while it answers."""
    body = orjson.dumps({**EXAMPLE, "messages": [EXAMPLE["messages"][0]] * 10})
    body = body.replace(b'"html":"', b'"html":"' + b"x" * 20_000, 1)
    held: list[int] = []

    class Engine:
        async def send_emails(self, emails: list[Email]) -> list[tuple[str, str, str, str]]:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, fastpath.__file__)]
            )
            held.append(sum(stat.size for stat in snapshot.statistics("filename")))
            return [(e.message_id, "accepted", "p-1", "") for e in emails]

    half = len(body) // 2  # two chunks: the read joins them into a body of its own
    chunks: list[Message] = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]

    async def receive() -> Message:
        return chunks.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = SimpleNamespace(state=SimpleNamespace(api_key="k", simulator=Engine()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": fastpath.BULK_PATH,
        "app": app,
        "headers": [(b"authorization", b"Bearer k"), (b"content-type", b"application/json")],
    }

    async def unexpected(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the fast path handed the call to the route")

    tracemalloc.start()
    try:
        await fastpath.BulkFastPath(unexpected)(scope, receive, send)
    finally:
        tracemalloc.stop()
    assert sent[0]["status"] == 200 and len(orjson.loads(sent[1]["body"])["results"]) == 10
    assert held and held[0] < len(body) // 2
