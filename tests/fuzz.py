"""Schemathesis over a served app's OpenAPI schema: every operation, no 5xx.

Each operation gets a bounded number of generated requests, valid and invalid by the
schema, sent with the given headers (a real key); path parameters are drawn at random
and also pinned to real objects, so the deeper validation paths run too. The app is
served by uvicorn on the test's own loop (`serving`): it keeps the pools and clients of
the test's loop. Schemathesis, which is synchronous, runs in a process of its own: its
generation and its HTTP client are most of the work, and beside the app in one process
(a thread, one GIL) the two took turns on one core where a machine has two.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections import Counter
from collections.abc import Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from services.esp_simulator.testing import serving

__all__ = ["Fuzzing", "fuzz", "serving"]


@dataclass
class Fuzzing:
    """What a run sent and what came back: status counts, and every 5xx as a curl command."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    def count(self, *statuses: int) -> int:
        return sum(self.statuses[s] for s in statuses)


async def fuzz(
    base_url: str,
    headers: Mapping[str, str],
    *,
    pinned: Mapping[str, str] | None = None,
    skipped: Collection[str] = (),
    max_examples: int = 20,
) -> Fuzzing:
    """Run every operation of `base_url`'s `/openapi.json` (but the `skipped` paths)."""
    args = (base_url, dict(headers), dict(pinned or {}), set(skipped), max_examples)
    spawn = multiprocessing.get_context("spawn")  # nothing of this process's loop or threads
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as process:
        return await asyncio.get_running_loop().run_in_executor(process, _fuzz, *args)


def _fuzz(
    base_url: str,
    headers: dict[str, str],
    pinned: dict[str, str],
    skipped: set[str],
    max_examples: int,
) -> Fuzzing:
    run = Fuzzing()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            run.failures.append(f"invalid operation in the schema: {result.err()}")
            continue
        operation = result.ok()
        if operation.path in skipped:
            continue
        names = {p.name for p in operation.path_parameters}
        fixed = {name: pinned[name] for name in names if name in pinned}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in [{}, fixed] if fixed else [{}]:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )
                _run(strategy, base_url, headers, max_examples, run)
    return run


def _run(
    strategy: Any, base_url: str, headers: dict[str, str], max_examples: int, run: Fuzzing
) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        run.statuses[response.status_code] += 1
        if response.status_code >= 500:
            run.failures.append(
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{case.as_curl_command(headers=headers)}"
            )

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists for some operations
        check()
