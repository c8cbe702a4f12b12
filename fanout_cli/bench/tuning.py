"""The stack tuned for throughput while a benchmark runs, and restored afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fanout_cli.stack import orchestrate
from shared.settings import CommonSettings

Say = Callable[[str], None]

# The sender's safety default caps the simulator at 2,000 emails/s, and its defaults keep
# 32 batches in flight against a resolver window of 200 (a small resend window after a
# crash). Benchmarks measure throughput: they lift the cap (the simulator itself runs with
# no rate limit) and keep enough batches in flight to hide a 150 ms ESP latency.
BENCH_ENV = {
    "sender": {
        "FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 1000000, "ses": 14}',
        "FANOUT_SENDER_MAX_IN_FLIGHT": "128",
    },
    "lead_resolver": {"FANOUT_LEAD_RESOLVER_WINDOW": "600"},
}


@contextmanager
def tuned_for_throughput(common: CommonSettings, say: Say) -> Iterator[None]:
    """Restart the sender and resolver with `BENCH_ENV`; back to their defaults on exit."""
    orchestrate.restart_services(common, BENCH_ENV, say)
    try:
        yield
    finally:
        orchestrate.restart_services(common, dict.fromkeys(BENCH_ENV, {}), say)
