import asyncio, sys
BODY = b'{"results":[' + b",".join(b'{"message_id":"<%d@x>","status":"accepted","provider_message_id":"sim-%d"}' % (i, i) for i in range(50)) + b']}'
RESP = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(BODY) + BODY
async def handle(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            await r.readexactly(n)
            w.write(RESP)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", 8799)
    await s.serve_forever()
asyncio.run(main())
