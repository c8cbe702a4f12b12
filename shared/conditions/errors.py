"""The one error the condition language raises for bad input."""

from __future__ import annotations


class ConditionError(ValueError):
    """A malformed condition: `path` locates the offending node, `message` says what was expected.

    `path` is a JSON path from the condition's root: "$", "$.all[1]", "$.any[0].not.value".
    The HTTP API turns this into a 422 naming the path.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
