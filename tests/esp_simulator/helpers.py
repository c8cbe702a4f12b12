"""Shared pieces of the simulator tests: request bodies and a real webhook receiver."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from shared.settings import CommonSettings
from shared.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

_TEST = CommonSettings(environment="test")  # this process's secrets
AUTH = {"Authorization": f"Bearer {_TEST.secret('simulator_api_key')}"}
SECRET = _TEST.secret("simulator_webhook_secret")


def message(n: int, tag: str = "", **overrides: Any) -> dict[str, Any]:
    """One bulk message with a unique id and fresh metadata ids."""
    body: dict[str, Any] = {
        "message_id": f"<{tag or uuid.uuid4().hex}.{n}@fanout.test>",
        "to": f"lead{n}@example.com",
        "subject": f"Hello {n}",
        "html": f"<p>Hello {n}</p>",
        "text": f"Hello {n}",
        "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "metadata": {
            "account_id": str(uuid.uuid4()),
            "campaign_id": str(uuid.uuid4()),
            "lead_id": str(uuid.uuid4()),
        },
    }
    body.update(overrides)
    return body


def bulk(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A bulk call body."""
    return {"from": "Acme <news@acme.example>", "reply_to": None, "messages": messages}


CLOSE = {"Connection": "close"}


@dataclass
class Receiver:
    """Collects signed webhook posts; answers 500 to the first `fail_first` posts, and
    closes each connection after its answer when `close_each`; `peers` are the posts'
    client addresses (one per connection)."""

    fail_first: int = 0
    secret: str = SECRET
    close_each: bool = False
    posts: list[list[dict[str, Any]]] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    refused: int = 0
    bad_signatures: int = 0

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for post in self.posts for event in post]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if request.client is not None:
                self.peers.append((request.client.host, request.client.port))
            timestamp = int(request.headers[TIMESTAMP_HEADER])
            if not verify(self.secret, timestamp, body, request.headers[SIGNATURE_HEADER]):
                self.bad_signatures += 1
                return Response(status_code=401)
            if self.refused < self.fail_first:
                self.refused += 1
                return Response(status_code=500)
            self.posts.append((await request.json())["events"])
            return Response(status_code=204, headers=CLOSE if self.close_each else None)

        return app


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Poll `check` until true or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
