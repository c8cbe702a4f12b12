"""`python -m tests.shared.log_probe requests|lines N`: a process that logs like a service.

Logging is set up exactly as a service's `main` does (`configure_service_logging` with
`CommonSettings` from the environment: FANOUT_LOG_FILE, FANOUT_LOG_LEVEL, ...), then:

- `requests`: one request through httpx to a local HTTP server, then `probe.done`;
- `lines N`: N log lines of about 200 bytes each (`probe.line`, numbered).

It runs as its own process because logging is process-wide state.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import structlog

from shared.logging import configure_service_logging
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        """Silent: only the client's logging is under test."""


def _request() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = httpx.get(f"http://127.0.0.1:{server.server_address[1]}/")
        log.info("probe.done", status=response.status_code)
    finally:
        server.shutdown()


def main() -> None:
    configure_service_logging("probe", CommonSettings())
    if sys.argv[1] == "requests":
        _request()
        return
    for n in range(int(sys.argv[2])):
        log.info("probe.line", n=n, padding="x" * 120)


if __name__ == "__main__":
    main()
