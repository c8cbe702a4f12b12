"""Route dependencies over what a service's lifespan put in `app.state`.

    SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]

One getter shape for every service, instead of a hand-written function per object.
The dependency is async so FastAPI calls it on the event loop (no thread-pool hop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar, cast

import asyncpg
from fastapi import Depends, Request

T = TypeVar("T")


def from_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning `request.app.state.<name>` (typed as `kind`)."""

    async def dependency(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    dependency.__name__ = f"state_{name}"
    del kind  # only for the reader and the type checker
    return dependency


# Every service with a database keeps its Postgres pool as `app.state.pool`.
PoolDep = Annotated[asyncpg.Pool, Depends(from_state("pool", asyncpg.Pool))]
