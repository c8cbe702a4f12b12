"""Template work of the campaign API, in a worker process of its own.

Compiling a template means Python's `compile()` of the code Jinja generates,
which holds the GIL from start to end (about 0.1 s per 1,000 expressions on a
busy 2-core machine): done in a thread, it would stall the event loop anyway.
So checks, previews and launch test-renders run in one worker process
(`template_jobs`), one job at a time, and `/healthz` and every other request
keep answering meanwhile; the worker runs at a lower priority, so on a busy
machine the API's own requests get the CPU first. A worker that dies is
replaced on the next job.

Previews and launch checks render with `preview_link`, an unsubscribe link
whose token is not a token: it cannot unsubscribe anyone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends

from shared.http.state import from_state
from shared.unsubscribe import unsubscribe_url

PREVIEW_TOKEN = "preview-only-not-a-real-link"  # noqa: S105 - a placeholder, not a secret
T = TypeVar("T")
WORKER_NICENESS = 10


def preview_link(public_base_url: str) -> str:
    """The unsubscribe link shown in previews: it verifies as no one's token."""
    return unsubscribe_url(public_base_url, PREVIEW_TOKEN)


def _yield_to_the_api() -> None:
    # On a busy machine the API's own requests (and /healthz) get the CPU first.
    os.nice(WORKER_NICENESS)


class TemplateWorker:
    """One worker process for template jobs, started on first use."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fresh interpreter, not a fork of a process with running threads
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_yield_to_the_api
            )
        return self._pool

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        """`job(*args)` in the worker process; what it raises is raised here."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._started(), partial(job, *args))
        except BrokenProcessPool:  # the worker died (killed, out of memory): start another
            self.close()
            return await loop.run_in_executor(self._started(), partial(job, *args))

    def close(self) -> None:
        """Stop the worker process (jobs not started are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


TemplateWorkerDep = Annotated[
    TemplateWorker, Depends(from_state("template_worker", TemplateWorker))
]
