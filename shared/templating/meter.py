"""The render budget of one email: the meter every hook charges.

One `Meter` is active (a context variable) while one email renders. Loop
iterations and calls `step()` it, every value the template builds is charged
with `build()`, every piece of output with `emit()`; every few charges look at
the clock (the rendering thread's CPU time less garbage collection, `cputime`), so
time is bounded by the deadline
plus a few steps, and a step is bounded because every value it can touch was
itself measured (`sizing.measure`) when built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from shared.templating.cputime import render_clock
from shared.templating.errors import BudgetExceeded
from shared.templating.limits import TemplateLimits
from shared.templating.sizing import measure

Clock = Callable[[], float]
# The rendering thread's CPU time less the collector's: what a template spends, whatever
# else the machine is doing, so an email renders (or not) the same on a busy machine as on
# an idle one.
CPU_TIME: Clock = render_clock
_CLOCK_EVERY = 16  # charges between two looks at the clock (reading it costs a system call)
_ACTIVE: ContextVar[Meter | None] = ContextVar("template_meter", default=None)


class Meter:
    """What one email has used of its budget so far (the hot path: kept to plain arithmetic)."""

    def __init__(self, limits: TemplateLimits, clock: Clock = CPU_TIME) -> None:
        self.limits = limits
        self._clock = clock
        self._deadline = clock() + limits.max_render_seconds
        self._max_iterations = limits.max_iterations
        self._max_built = limits.max_built_chars
        self._max_output = limits.max_output_chars
        self.iterations = 0
        self.built = 0
        self.output = 0
        self._charges = 0

    def _tick(self) -> None:
        self._charges += 1
        if self._charges % _CLOCK_EVERY == 0 and self._clock() > self._deadline:
            raise self.exceeded("max_render_seconds")

    def step(self) -> None:
        """One loop iteration or call."""
        self.iterations += 1
        if self.iterations > self._max_iterations:
            raise self.exceeded("max_iterations")
        self._tick()

    def room_to_build(self) -> int:
        """Characters that may still be built."""
        return self._max_built - self.built

    def build(self, size: int) -> None:
        """A value of `size` characters was (or is about to be) built."""
        self.built += size
        if self.built > self._max_built:
            raise self.exceeded("max_built_chars")
        self._tick()

    def room_to_emit(self) -> int:
        """Characters of output still allowed."""
        return self._max_output - self.output

    def check_room_to_emit(self, size: int) -> None:
        """Raise if `size` more characters of output would pass the limit."""
        if self.output + size > self._max_output:
            raise self.exceeded("max_output_chars")

    def emit(self, size: int) -> None:
        """`size` characters of output."""
        self.output += size
        if self.output > self._max_output:
            raise self.exceeded("max_output_chars")
        self._tick()

    def measure(self, value: Any, cap: int | None = None) -> int:
        """`measure(value)` up to `cap` (default: what may still be built), minding the clock."""
        if type(value) is str:
            return len(value)
        return measure(value, self.room_to_build() if cap is None else cap, self.check_time)

    def refuse_build(self, size: int, what: str) -> None:
        """Raise unless `size` more characters fit in what may still be built."""
        if size > self.room_to_build():
            raise BudgetExceeded(
                "max_built_chars",
                f"{what} would build more than {self.limits.max_built_chars:,} characters",
            )

    def check_time(self) -> None:
        """Raise once the deadline has passed."""
        if self._clock() > self._deadline:
            raise self.exceeded("max_render_seconds")

    def exceeded(self, limit: str) -> BudgetExceeded:
        """The error for `limit` (a `TemplateLimits` field), saying what the limit is."""
        limits = self.limits
        message = {
            "max_iterations": f"more than {limits.max_iterations:,} loop iterations and calls",
            "max_built_chars": f"builds more than {limits.max_built_chars:,} characters "
            "of text and lists",
            "max_output_chars": f"output longer than {limits.max_output_chars:,} characters",
            "max_render_seconds": f"rendering took more than {limits.max_render_seconds:g} s "
            "of CPU time",
        }[limit]
        return BudgetExceeded(limit, message)


def active() -> Meter | None:
    """The meter of the email being rendered (None while compiling)."""
    return _ACTIVE.get()


def current() -> Meter:
    """The active meter; raises outside a render (Jinja then leaves the work to render time)."""
    meter = _ACTIVE.get()
    if meter is None:  # constant folding at compile time: the hooks must not run then
        raise RuntimeError("templates run only while rendering")
    return meter


class metering:  # noqa: N801 - used like a function: `with metering(meter):`
    """Make `meter` the active one for the duration of a `with` block.

    A class rather than `@contextmanager`: it runs once per email, and the
    generator-based form costs as much as the rest of a simple render.
    """

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        self._token: Token[Meter | None] | None = None

    def __enter__(self) -> Meter:
        self._token = _ACTIVE.set(self._meter)
        return self._meter

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _ACTIVE.reset(self._token)


def metered(value: Any) -> Any:
    """`value`, or, if it is a lazy iterator (`map`, `select`), one that steps per item."""
    meter = active()
    if meter is None or not isinstance(value, Iterator):
        return value
    return stepping(meter, value)


def stepping(meter: Meter, items: Iterator[Any]) -> Iterator[Any]:
    """`items`, one step of `meter` per item."""
    for item in items:
        meter.step()
        yield item
