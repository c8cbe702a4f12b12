import asyncio, httptools

class Conn(asyncio.Protocol):
    def __init__(self):
        self.parser = httptools.HttpResponseParser(self)
        self.waiter = None
        self.body = []
        self.done = False
    def connection_made(self, t): self.t = t
    def data_received(self, data):
        self.parser.feed_data(data)
    def on_body(self, b): self.body.append(b)
    def on_message_complete(self):
        w, self.waiter = self.waiter, None
        w.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []
    def connection_lost(self, exc):
        if self.waiter and not self.waiter.done(): self.waiter.set_exception(ConnectionError())
    async def request(self, head, body):
        self.waiter = asyncio.get_running_loop().create_future()
        self.t.write(head + body)
        return await self.waiter

class Pool:
    def __init__(self, host, port, n):
        self.host, self.port = host, port
        self.idle = []
    async def post(self, path, body, headers):
        conn = self.idle.pop() if self.idle else None
        if conn is None:
            _, conn = await asyncio.get_running_loop().create_connection(Conn, self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + f"Content-Length: {len(body)}\r\n\r\n").encode()
        async with asyncio.timeout(30):
            r = await conn.request(head, body)
        self.idle.append(conn)
        return r
