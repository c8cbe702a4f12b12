"""The ESP calls' HTTP/1.1 transport against real sockets: a scripted asyncio server
answering each request with bytes the test chose (keep-alive, chunks, closes, delays, TLS)."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.http.direct import DirectClient
from shared.http.transport import Http11Transport
from tests.garbage import collector_finds
from tests.ports import free_port
from tests.sender.providers.smtp_server import make_certificate


@dataclass
class Answer:
    """What the server does with one request: wait, write `data`, maybe close."""

    data: bytes
    close: bool = False
    delay_s: float = 0.0


def ok(body: bytes, *headers: str) -> Answer:
    head = "".join(f"{h}\r\n" for h in headers)
    status = b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n" % (head.encode(), len(body))
    return Answer(status + body)


@dataclass
class Server:
    """A scripted HTTP/1.1 server: answers requests in order from `answers`."""

    answers: list[Answer]
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                answer = self.answers.pop(0)
                await asyncio.sleep(answer.delay_s)
                writer.write(answer.data)
                await writer.drain()
                if answer.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Start = Callable[..., Awaitable[Server]]  # (answers, tls=None): a server listening


@pytest.fixture
async def serve() -> AsyncIterator[Start]:
    servers: list[asyncio.Server] = []

    async def start(answers: list[Answer], tls: ssl.SSLContext | None = None) -> Server:
        server = Server(answers)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
        servers.append(listening)
        server.port = listening.sockets[0].getsockname()[1]
        return server

    yield start
    for listening in servers:
        listening.close()


def client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Http11Transport(**options), timeout=2.0)


async def test_post_reuses_the_connection_and_sends_the_request_whole(serve: Start) -> None:
    server = await serve([ok(b'{"a":1}', "Content-Type: application/json"), ok(b"second")])
    async with client() as http:
        first = await http.post(
            f"http://127.0.0.1:{server.port}/v1/messages/bulk?x=1",
            content=b'{"messages":[]}',
            headers={"Authorization": "Bearer k"},
        )
        second = await http.get(f"http://127.0.0.1:{server.port}/v1/config")
    assert first.status_code == 200 and first.json() == {"a": 1}
    assert first.headers["content-type"] == "application/json"
    assert second.text == "second"
    assert server.connections == 1
    (head, body), (head2, body2) = server.requests
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/messages/bulk?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Authorization: Bearer k" in lines and b"Content-Length: 15" in lines
    assert body == b'{"messages":[]}'
    assert head2.startswith(b"GET /v1/config HTTP/1.1\r\n") and body2 == b""


async def test_chunked_and_gzip_answers_are_decoded(serve: Start) -> None:
    packed = gzip.compress(b"hello " * 100)
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + b"%x\r\n%s\r\n" % (20, packed[:20])
        + b"%x\r\n%s\r\n" % (len(packed) - 20, packed[20:])
        + b"0\r\n\r\n"
    )
    server = await serve([Answer(chunked), ok(b"after")])
    async with client() as http:
        response = await http.get(f"http://127.0.0.1:{server.port}/")
        after = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "hello " * 100
    assert after.text == "after" and server.connections == 1


async def test_body_up_to_the_close_when_no_length_is_given(serve: Start) -> None:
    server = await serve([Answer(b"HTTP/1.1 200 OK\r\n\r\nto the end", close=True), ok(b"next")])
    async with client() as http:
        response = await http.get(f"http://127.0.0.1:{server.port}/")
        following = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "to the end"
    assert following.text == "next" and server.connections == 2


async def test_connection_close_and_a_server_closing_idle_connections_open_new_ones(
    serve: Start,
) -> None:
    server = await serve(
        [ok(b"1", "Connection: close"), Answer(ok(b"2").data, close=True), ok(b"3")]
    )
    async with client() as http:
        texts = []
        for _ in range(3):
            texts.append((await http.get(f"http://127.0.0.1:{server.port}/")).text)
            await asyncio.sleep(0.05)  # the server's close reaches the idle connection
    assert texts == ["1", "2", "3"]
    assert server.connections == 3


async def test_idle_connections_expire(serve: Start) -> None:
    server = await serve([ok(b"1"), ok(b"2")])
    async with client(keepalive_expiry_s=0.0) as http:
        await http.get(f"http://127.0.0.1:{server.port}/")
        await http.get(f"http://127.0.0.1:{server.port}/")
    assert server.connections == 2


async def test_read_timeout_closes_the_connection_so_a_late_answer_is_not_taken(
    serve: Start,
) -> None:
    server = await serve([Answer(ok(b"late").data, delay_s=0.3), ok(b"fresh")])
    async with client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{server.port}/", timeout=0.1)
        response = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "fresh" and server.connections == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", close=True), "mid-response"),
        (Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20), "longer than 10"),
        (Answer(b"NOT HTTP AT ALL\r\n\r\n"), "malformed response"),
        (Answer(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"), "switched"),
    ],
    ids=["cut-short", "too-long", "malformed", "upgrade"],
)
async def test_broken_answers_are_protocol_errors(serve: Start, answer: Answer, error: str) -> None:
    server = await serve([answer])
    async with client(max_response_bytes=10) as http:
        with pytest.raises(httpx.RemoteProtocolError, match=error):
            await http.get(f"http://127.0.0.1:{server.port}/")


async def test_interim_answer_and_head(serve: Start) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final").data
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    server = await serve([Answer(interim), Answer(head), ok(b"after head")])
    async with client() as http:
        assert (await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")).text == "final"
        answered = await http.head(f"http://127.0.0.1:{server.port}/")
        assert answered.status_code == 200 and answered.content == b""
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "after head"


async def test_unreachable_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/")  # nobody listens there


async def test_calls_beyond_the_connections_wait_for_the_pool(serve: Start) -> None:
    server = await serve([Answer(ok(b"slow").data, delay_s=0.5), ok(b"then")])
    async with client(connections=1) as http:
        slow = asyncio.create_task(http.get(f"http://127.0.0.1:{server.port}/"))
        await asyncio.sleep(0.05)
        timeout = httpx.Timeout(2.0, pool=0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"http://127.0.0.1:{server.port}/", timeout=timeout)
        assert (await slow).text == "slow"
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "then"
    assert server.connections == 1


async def test_https_verifies_the_server_certificate(serve: Start, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await serve([ok(b"secret"), ok(b"again")], tls=server_tls)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with client(ssl_context=trusting) as http:
        assert (await http.get(f"https://127.0.0.1:{server.port}/")).text == "secret"
        assert (await http.get(f"https://127.0.0.1:{server.port}/")).text == "again"
    assert server.connections == 1
    async with client() as http:  # the default context does not know the test's certificate
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"https://127.0.0.1:{server.port}/")


@pytest.mark.parametrize("direct", [True, False])
async def test_a_read_response_leaves_no_garbage_for_the_collector(
    serve: Start, direct: bool
) -> None:
    """httpx binds a response's stream to the response (a cycle); the adapters' client
    (`DirectClient`) hands back responses that reference counting frees.

    The collector's finds (`tests.garbage`) are searched for this server's
    responses (with httpx's client, the one the second call released): the total it finds
    counts whatever else in the process became garbage meanwhile (a fresh-clone CI run once
    found 48 objects with `DirectClient`)."""
    server = await serve([ok(b'{"ok":true}'), ok(b'{"ok":true}')])
    url = f"http://127.0.0.1:{server.port}/v1/messages/bulk"
    make = DirectClient if direct else httpx.AsyncClient
    async with make(transport=Http11Transport(), timeout=2.0) as http:
        await http.post(url, content=b"{}")  # the connection is open before counting
        with collector_finds() as found:
            response = await http.post(url, content=b"{}")
            assert response.json() == {"ok": True} and response.elapsed.total_seconds() >= 0
            del response
    ours = [o for o in found if isinstance(o, httpx.Response) and o.url == url]
    assert (not ours) is direct


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_calls_go_through_on_uvloop(tmp_path: Path, tls: bool) -> None:
    """`FANOUT_EVENT_LOOP=uvloop` runs the sender on uvloop, whose transports do not derive
    from asyncio's classes. The transport's first version asserted that they did: on uvloop
    every ESP call failed inside `connection_made` and the sender stalled with its batches
    in flight. Two calls on one kept-alive connection, over HTTP and over TLS."""
    import uvloop  # noqa: PLC0415 - this test alone runs on uvloop

    server_tls: ssl.SSLContext | None = None
    options: dict[str, Any] = {}
    if tls:
        cert, key = make_certificate(tmp_path)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        options["ssl_context"] = ssl.create_default_context(cafile=str(cert))
    scheme = "https" if tls else "http"

    async def two_calls() -> tuple[str, list[str], Server]:
        loop_name = type(asyncio.get_running_loop()).__module__
        server = Server([ok(b'{"n":1}'), ok(b'{"n":2}')])
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_tls)
        server.port = listening.sockets[0].getsockname()[1]
        try:
            async with client(**options) as http:
                url = f"{scheme}://127.0.0.1:{server.port}/v1/messages/bulk"
                texts = [(await http.post(url, content=b"{}")).text for _ in range(2)]
        finally:
            listening.close()
        return loop_name, texts, server

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        loop_name, texts, server = runner.run(two_calls())
    assert loop_name.startswith("uvloop")
    assert texts == ['{"n":1}', '{"n":2}']
    assert server.connections == 1 and len(server.requests) == 2


def redirect(location: str) -> Answer:
    return Answer(
        b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location.encode()
    )


@pytest.fixture
def full_sends(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """The requests that went through httpx's own `send` (the client layer)."""
    seen: list[httpx.Request] = []
    original = httpx.AsyncClient.send

    async def counting(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        seen.append(request)
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", counting)
    return seen


async def test_a_plain_call_skips_the_client_layer_and_sends_the_same_request(
    serve: Start, full_sends: list[httpx.Request]
) -> None:
    """What the adapters do (`post`/`request` with content and headers) goes straight to
    the transport, with the request httpx would have sent: the same bytes on the wire."""
    server = await serve([ok(b'{"n":1}'), ok(b'{"n":2}')])
    url = f"http://127.0.0.1:{server.port}/v1/messages/bulk?x=1"
    kwargs: dict[str, Any] = {"content": b'{"m":[]}', "headers": {"Authorization": "Bearer k"}}
    async with DirectClient(transport=Http11Transport(), timeout=2.0) as lean:
        mine = await lean.post(url, **kwargs)
        assert full_sends == []  # httpx's send was not involved
    async with httpx.AsyncClient(transport=Http11Transport(), timeout=2.0) as plain:
        theirs = await plain.post(url, **kwargs)
    assert (mine.status_code, mine.json(), theirs.json()) == (200, {"n": 1}, {"n": 2})
    assert mine.request.url == url and mine.headers["content-length"] == "7"
    (head, body), (head2, body2) = server.requests
    assert head == head2 and body == body2 == b'{"m":[]}'


async def test_calls_with_auth_redirects_hooks_or_streams_go_through_httpx(
    serve: Start, full_sends: list[httpx.Request]
) -> None:
    """Anything but a plain call keeps httpx's whole `send`: basic auth is added, a redirect
    followed when asked, event hooks run, a stream is left open to read."""
    server = await serve([ok(b"a"), redirect("/there"), ok(b"b"), ok(b"c"), ok(b"d")])
    base = f"http://127.0.0.1:{server.port}"
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.url.path)

    async with DirectClient(transport=Http11Transport(), timeout=2.0) as http:
        assert (await http.post(f"{base}/auth", content=b"x", auth=("api", "k"))).text == "a"
        followed = await http.get(f"{base}/here", follow_redirects=True)
        assert (followed.text, followed.url.path) == ("b", "/there")
        http.event_hooks = {"request": [hook], "response": []}
        assert (await http.get(f"{base}/hooked")).text == "c"
        http.event_hooks = {"request": [], "response": []}
        async with http.stream("GET", f"{base}/streamed") as streamed:
            assert await streamed.aread() == b"d"
    assert [r.url.path for r in full_sends] == ["/auth", "/here", "/hooked", "/streamed"]
    assert hooked == ["/hooked"]
    auth_head = server.requests[0][0]
    assert b"Authorization: Basic YXBpOms=" in auth_head.split(b"\r\n")


async def test_a_plain_call_keeps_httpx_errors_timeouts_and_statuses(serve: Start) -> None:
    server = await serve([Answer(ok(b"late").data, delay_s=1.0), ok(b"no", "X: y")])
    url = f"http://127.0.0.1:{server.port}/v1"
    http = DirectClient(transport=Http11Transport(), timeout=0.2)
    with pytest.raises(httpx.ReadTimeout):
        await http.post(url, content=b"{}")
    failing = await serve([Answer(b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno")])
    answered = await http.post(f"http://127.0.0.1:{failing.port}/v1", content=b"{}")
    with pytest.raises(httpx.HTTPStatusError, match="500"):
        answered.raise_for_status()  # needs the response's request
    await http.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await http.post(url, content=b"{}")
