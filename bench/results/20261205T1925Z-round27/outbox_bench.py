"""The simulator's webhook outbox alone, for a given `webhooks.py`.

    python outbox_bench.py PATH/TO/webhooks.py LABEL

300 adds a second of 100 events each for 10 s (about the 30,000 events a second a 15,000
emails/s campaign brings), with delays of 1, 2 and 3 s, batches of 500 flushed after
200 ms, posts that go nowhere (no webhook URL). Prints the process's CPU over the 10 s
(the adding loop included) and how often the worker woke (`_release_due` calls).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from typing import Any

from services.esp_simulator.events import OutcomeEvent

DELAYS = (1.0, 2.0, 3.0)


class Nowhere:
    """A webhook format that makes no post."""

    def posts(self, _events: list[OutcomeEvent]) -> list[Any]:
        return []


class Message:
    dialect = "simulator"


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("webhooks_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def main(path: str, label: str) -> None:
    webhooks = load(path)
    policy = webhooks.DeliveryPolicy(secret="s", batch_size=500, flush_s=0.2)
    outbox = webhooks.WebhookOutbox(policy, lambda _dialect: "", {"simulator": Nowhere()})
    wakes = 0
    release = outbox._release_due

    def counted(now: float) -> None:
        nonlocal wakes
        wakes += 1
        release(now)

    outbox._release_due = counted
    worker = asyncio.create_task(outbox.run())
    message: Any = Message()
    cpu, started, added = time.process_time(), time.monotonic(), 0
    while time.monotonic() - started < 10:
        events = [
            (DELAYS[i % 3], OutcomeEvent(key=i, type="delivered", message=message, occurred_at=0))
            for i in range(100)
        ]
        outbox.add_all(events, time.monotonic())
        added += len(events)
        await asyncio.sleep(1 / 300)
    cpu = time.process_time() - cpu
    sys.stdout.write(
        f"{label}: {added} events in 10 s, CPU {cpu:.2f} s ({cpu * 1e6 / added:.2f} µs per "
        f"event), {wakes} wake-ups, pending {outbox.pending}\n"
    )
    worker.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
