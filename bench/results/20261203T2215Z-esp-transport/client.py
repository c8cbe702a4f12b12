import asyncio, resource, sys, time, httpx
URL = "http://127.0.0.1:8799/v1/messages/bulk"
import os
BODY = b"x" * int(os.environ.get("SIZE", "60000"))
H = {"Authorization": "Bearer k", "Content-Type": "application/json"}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
async def run(mode, n=int(os.environ.get("N","4000")), conc=8):
    if mode == "client":
        c = httpx.AsyncClient(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc), timeout=30)
        async def one():
            r = await c.post(URL, content=BODY, headers=H); r.content
    elif mode.startswith("core"):
        import httpcore, anyio_free_backend as backend
        p = httpcore.AsyncConnectionPool(max_connections=conc, max_keepalive_connections=conc, network_backend=backend.Backend() if mode == "core-asyncio" else None)
        ext = {"timeout": {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}}
        hs = list(H.items())
        async def one():
            r = await p.request("POST", URL, content=BODY, headers=hs, extensions=ext)
            r.content
    elif mode == "fast":
        import sys; sys.path.insert(0, "/work/main")
        from services.sender.providers.transport import Http11Transport
        c = httpx.AsyncClient(transport=Http11Transport(connections=conc), timeout=30)
        async def one():
            r = await c.post(URL, content=BODY, headers=H); r.content
    elif mode == "raw":
        import raw
        p = raw.Pool("127.0.0.1", 8799, conc)
        async def one():
            await p.post("/v1/messages/bulk", BODY, H)
    elif mode == "transport-asyncio":
        import httpcore, anyio_free_backend as backend
        t = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc))
        t._pool = httpcore.AsyncConnectionPool(max_connections=conc, max_keepalive_connections=conc, network_backend=backend.Backend())
        ext = {"timeout": {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}}
        async def one():
            req = httpx.Request("POST", URL, content=BODY, headers=H, extensions=ext)
            r = await t.handle_async_request(req)
            try:
                await r.aread()
            finally:
                await r.aclose()
    else:
        t = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc))
        ext = {"timeout": {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}}
        async def one():
            req = httpx.Request("POST", URL, content=BODY, headers=H, extensions=ext)
            r = await t.handle_async_request(req)
            try:
                await r.aread()
            finally:
                await r.aclose()
    async def worker(k):
        for _ in range(k): await one()
    await asyncio.gather(*(worker(50) for _ in range(conc)))  # warm
    c0 = cpu(); t0 = time.perf_counter()
    await asyncio.gather(*(worker(n // conc) for _ in range(conc)))
    c1 = cpu(); t1 = time.perf_counter()
    print(f"{mode}: {1e6*(c1-c0)/n:.1f} us CPU/request, {n/(t1-t0):.0f} req/s")
for m in sys.argv[1:]:
    asyncio.run(run(m))
