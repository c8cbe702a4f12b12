"""Test and benchmark controls: knobs, counters, reset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import ValidationError

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.config import Knobs
from services.esp_simulator.protocol import Counters
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
