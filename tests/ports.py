"""A free loopback port for a test's own listener, picked below the ephemeral range.

`bind(("127.0.0.1", 0))` hands out a port of the kernel's ephemeral range, which is
also where outgoing connections take their source ports: between the test picking the
port and its server binding it, a connection to Kafka or Postgres from this or another
test worker can take it, and the server fails with EADDRINUSE (seen in a fresh-clone
`.ci/run`). The test stack already picks its ports below that range
(`fanout_cli.testrun.ports`); the tests' own servers do the same.
"""

from __future__ import annotations

from fanout_cli.testrun.ports import free_port as _free_port

_TAKEN: set[int] = set()  # handed out in this process: never twice


def free_port() -> int:
    """A port nobody listens on now, below the ephemeral range, not handed out before."""
    return _free_port(_TAKEN)


def free_ports(count: int, *, consecutive: int = 1) -> list[int]:
    """`count` such ports; each also has `consecutive - 1` free ports right after it (Kafka's
    controller listens on its broker's port + 1).

    Below the ephemeral range matters most for a broker the tests stop and start again: a
    client that keeps connecting to it on loopback can be given the broker's own port as
    its source port (a TCP self-connect, seen as aiokafka's "Correlation ids do not match:
    sent 1, recv 1179648"), and the broker then cannot bind it when it restarts.
    """
    return [_free_port(_TAKEN, span=consecutive) for _ in range(count)]
