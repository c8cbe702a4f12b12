"""Test and benchmark controls: knobs, counters, reset, down window, request log."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from fastapi import APIRouter, Body, Query
from pydantic import ValidationError

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.config import Knobs
from services.esp_simulator.protocol import (
    AcceptedAnswer,
    AcceptedQuery,
    Counters,
    DownState,
    DownWindow,
    LoggedCall,
    RequestLogPage,
)
from shared.http.problems import problem_responses, validation_problem

# Open like /metrics: a local test tool's controls, read by tests and benchmarks without a key.
router = APIRouter(prefix="/v1", tags=["control"])

KnobPatch = Annotated[
    dict[str, Any], Body(examples=[{"rate_limit_per_s": 500, "throttle_429_rate": 0.3}])
]


@router.get("/config", response_model=Knobs)
async def read_config(simulator: SimulatorDep) -> Knobs:
    """The knobs in force."""
    return simulator.knobs


@router.post("/config", response_model=Knobs, responses=problem_responses(422))
async def update_config(simulator: SimulatorDep, patch: KnobPatch) -> Knobs:
    """Change some knobs (partial: only the names given); answers the knobs now in force.

    An unknown knob or a value out of range answers 422 naming it; nothing changes."""
    try:
        return simulator.configure(patch)
    except ValidationError as exc:
        raise validation_problem(exc.errors(), under=["body"]) from None


@router.get("/counters", response_model=Counters)
async def read_counters(simulator: SimulatorDep) -> Counters:
    """Calls, recipients by status, outcomes and webhook progress since start or reset."""
    return simulator.snapshot()


@router.post("/reset", response_model=Counters)
async def reset(simulator: SimulatorDep) -> Counters:
    """Zero the counters and forget accepted message ids and pending events."""
    simulator.reset()
    return simulator.snapshot()


@router.get("/down", response_model=DownState)
async def read_down(simulator: SimulatorDep) -> DownState:
    """Whether the bulk API is in a down window."""
    return DownState(down=simulator.outage.down, remaining_s=simulator.outage.remaining_s)


@router.post("/down", response_model=DownState, responses=problem_responses(422))
async def go_down(simulator: SimulatorDep, window: DownWindow) -> DownState:
    """Answer every bulk call 503 at once for `seconds` from now (0 ends the window)."""
    simulator.outage.start(window.seconds)
    return DownState(down=simulator.outage.down, remaining_s=simulator.outage.remaining_s)


@router.get("/requests", response_model=RequestLogPage, responses=problem_responses(422))
async def read_requests(
    simulator: SimulatorDep,
    campaign_id: Annotated[UUID | None, Query(description="Only this campaign's calls.")] = None,
    since: Annotated[
        float | None, Query(description="Only calls that arrived at or after (Unix time).")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="At most this many (oldest).")] = None,
) -> RequestLogPage:
    """The request log: per bulk call and campaign, its arrival time, size, answer and counts
    (first acceptances, duplicates, refusals, decided outcomes), oldest first."""
    log = simulator.requests
    records = log.select(campaign_id, since, limit)
    return RequestLogPage(
        entries=[LoggedCall.model_validate(msgspec.structs.asdict(r)) for r in records],
        recorded=log.recorded,
        evicted=log.evicted,
        capacity=log.capacity,
    )


@router.post("/accepted", response_model=AcceptedAnswer, responses=problem_responses(422))
async def read_accepted(simulator: SimulatorDep, query: AcceptedQuery) -> AcceptedAnswer:
    """Which of these message ids the simulator accepted (per-lead reconciliation)."""
    return AcceptedAnswer(accepted=simulator.accepted(query.message_ids))
