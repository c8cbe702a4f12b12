"""A customer's webhook receiver, in-process: records every request, answers as told.

Served by uvicorn on a free port (`services.esp_simulator.testing.serving`), so the
notifier's attempts cross a real socket. `answers` are the status codes of the next
requests, in order; once used up it answers 204.
A non-2xx answer carries `Retry-After: retry_after` when that is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes

    def verify(self, secret: str) -> object:
        """The parsed body if `secret` verifies it (`standardwebhooks`); raises otherwise."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """What the receiver got, and what it answers next."""

    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    retry_after: str | None = None  # sent with every answer that is not a 2xx
    url: str = ""

    def app(self) -> FastAPI:
        """The receiving app."""
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append(Received(dict(request.headers), await request.body()))
            code = self.answers.pop(0) if self.answers else 204
            headers = {"retry-after": self.retry_after} if self.retry_after and code >= 300 else {}
            return Response(status_code=code, headers=headers)

        return app
