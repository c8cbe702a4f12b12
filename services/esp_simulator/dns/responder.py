"""A small authoritative DNS server over UDP that answers from the simulator's `Zone`.

campaign_api verifies a sending domain by asking a resolver for its records; the
local stack points that resolver here (`FANOUT_CAMPAIGN_API_DNS_NAMESERVERS` and
`..._DNS_NAMESERVER_PORT`), so `fanout demo` can verify a domain nobody owns.
Every answer is authoritative; a name not published is NXDOMAIN. An answer larger
than the client can take (512 bytes, or its EDNS size) is sent truncated (TC),
as the protocol says; the records a domain publishes fit well within 512 bytes.
Malformed packets are dropped, as real servers do with garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import structlog

from services.esp_simulator.dns.zone import Zone
from shared.errors import DependencyUnavailable

log = structlog.get_logger(__name__)

PLAIN_UDP_SIZE = 512


def respond(wire: bytes, zone: Zone) -> bytes | None:
    """The answer to one query packet, or None for a packet that is not a DNS query."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    if query.flags & dns.flags.QR:
        return None  # a response, not a question: never answer it (no loops)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        response.set_rcode(dns.rcode.NOTIMP)
        return response.to_wire()
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        response.set_rcode(dns.rcode.REFUSED)
        return response.to_wire()
    answer = zone.answer(question.name, question.rdtype)
    response.set_rcode(answer.rcode)
    response.answer.extend(answer.rrsets)
    limit = max(query.payload, PLAIN_UDP_SIZE) if query.edns >= 0 else PLAIN_UDP_SIZE
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a datagram endpoint's transport (not a DatagramTransport subclass on every Python)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = respond(data, self.zone)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@contextlib.asynccontextmanager
async def serving_dns(
    zone: Zone, host: str, port: int, *, setting: str = "FANOUT_ESP_SIMULATOR_DNS_PORT"
) -> AsyncIterator[int]:
    """Answer DNS queries for `zone` on UDP `host:port` (0: a free port); yields the port.

    A port that cannot be bound is a `DependencyUnavailable` naming `setting`.
    """
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(zone), local_addr=(host, port)
        )
    except OSError as exc:
        what = "the simulator's DNS UDP port"
        raise DependencyUnavailable.port_taken(what, host, port, setting, exc) from exc
    bound = int(transport.get_extra_info("sockname")[1])
    log.info("esp_simulator.dns_listening", host=host, port=bound)
    try:
        yield bound
    finally:
        transport.close()
