"""A customer's webhook receiver for the end-to-end tests: a plain HTTP server on a free
port, in a thread of the test process, recording every request the stack's notifier
makes to it (answered 204)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Received:
    """What the customer's receiver got: (headers, body) of each request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[tuple[dict[str, str], bytes]] = []

    def wait_for(self, needle: str, deadline: float) -> tuple[dict[str, str], bytes]:
        """The first request whose body holds `needle` (the notifier sends asynchronously)."""
        while time.monotonic() < deadline:
            for headers, body in list(self.requests):
                if needle.encode() in body:
                    return headers, body
            time.sleep(0.2)
        raise AssertionError(f"no webhook holding {needle!r} arrived")


@contextlib.contextmanager
def receiving() -> Iterator[Received]:
    """A receiver listening on 127.0.0.1 until the block ends."""
    received = Received("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers["content-length"]))
            received.requests.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
