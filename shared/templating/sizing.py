"""Sizes of what a template would build, known before it is built.

`measure` estimates how long `str(value)` would be without building it, so a
value is refused before it is turned into text, not after; `replaced_size` and
`printf_widths` tell what `replace` and printf formatting would produce.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from jinja2 import Undefined

_MAX_DEPTH = 100  # deeper values are refused rather than measured
_OTHER = 64  # str() of anything else a template reaches is a short repr
_CHECK_EVERY = 1024  # items measured between two looks at the clock
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\d+|\*)?(?:\.(\d+|\*))?")


def measure(value: Any, cap: int, check_time: Callable[[], None] | None = None) -> int:
    """About how many characters `str(value)` has; anything above `cap` may read `cap + 1`.

    Containers are walked once per distinct object, so a list holding the same
    big list many times is measured in time proportional to its distinct parts;
    a long walk calls `check_time` as it goes.
    """
    return _Walk(cap, check_time).size(value, 0)


class _Walk:
    def __init__(self, cap: int, check_time: Callable[[], None] | None) -> None:
        self.cap = cap
        self.check_time = check_time
        self.items = 0
        # each container measured, kept alive so a temporary cannot reuse its id meanwhile
        self.seen: dict[int, tuple[Any, int]] = {}

    def size(self, value: Any, depth: int) -> int:
        if isinstance(value, str):
            return len(value)
        if value is None or isinstance(value, (bool, float)):
            return 24
        if isinstance(value, int):
            return value.bit_length() // 3 + 2  # decimal digits, rounded up
        if isinstance(value, Undefined):
            return 0
        if isinstance(value, range) or not isinstance(value, Collection):
            return _OTHER
        known = self.seen.get(id(value))
        if known is not None:
            return known[1]
        if depth >= _MAX_DEPTH:
            return self.cap + 1
        total = 2
        parts = value.items() if isinstance(value, Mapping) else value
        for part in parts:
            total += self.size(part, depth + 1) + 2
            if total > self.cap:
                total = self.cap + 1
                break
            self.tick()
        self.seen[id(value)] = (value, total)
        return total

    def tick(self) -> None:
        self.items += 1
        if self.check_time is not None and self.items % _CHECK_EVERY == 0:
            self.check_time()


def replaced_size(text: str, old: str, new: str, count: int | None = None) -> int:
    """The exact length of `text.replace(old, new, count)`, without building it."""
    hits = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def printf_widths(fmt: str, values: list[Any]) -> Iterator[int]:
    """The widths and precisions `fmt % values` would pad to (`%99999999s`, `%*s`)."""
    stars = False
    for match in _PRINTF.finditer(fmt):
        for number in match.groups():
            stars = stars or number == "*"
            if number and number != "*":
                yield int(number)
    if stars:
        yield from (value for value in values if isinstance(value, int))
