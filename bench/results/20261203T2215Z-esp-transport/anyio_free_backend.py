import asyncio, socket, ssl
from typing import Any
import httpcore

class Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r, self._w = reader, writer
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._r.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc
    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer: return
        try:
            self._w.write(buffer)
            if self._w.transport.get_write_buffer_size() > 65536:
                async with asyncio.timeout(timeout):
                    await self._w.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc
    async def aclose(self) -> None:
        self._w.close()
    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._r.at_eof() or bool(self._r._buffer)
        if info == "ssl_object": return self._w.get_extra_info("ssl_object")
        if info == "server_addr": return self._w.get_extra_info("peername")
        if info == "client_addr": return self._w.get_extra_info("sockname")
        if info == "socket": return self._w.get_extra_info("socket")
        return None

class Backend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            async with asyncio.timeout(timeout):
                r, w = await asyncio.open_connection(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return Stream(r, w)
    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
