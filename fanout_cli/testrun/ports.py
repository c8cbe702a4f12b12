"""Free loopback ports for a test stack, picked below the ephemeral range.

The kernel hands ports of its ephemeral range to outgoing connections, so such a port
can be taken between being picked and being bound; a test stack's ports come from
below that range, chosen at random so that two checkouts rarely try the same ones.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

from fanout_cli.stack.errors import StackError

LOWEST = 20_000
RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_floor() -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        return int(RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing holds `port` on `host` (we could listen on it now)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(taken: set[int], span: int = 1) -> int:
    """A port with the `span - 1` ports after it also free and not in `taken`; added to it."""
    top = max(LOWEST + 1000, ephemeral_floor()) - span
    for _ in range(500):
        port = random.randrange(LOWEST, top)  # noqa: S311 - spreading, not secrecy
        block = set(range(port, port + span))
        if not block & taken and all(bindable(p) for p in block):
            taken |= block
            return port
    raise StackError(f"the test stack found no {span} free consecutive ports below {top}")
