"""What a parser yields per data line, and the error for a file with a broken structure."""

from __future__ import annotations

from dataclasses import dataclass

from services.campaign_api.leads.fields import LeadRow


class ImportFormatError(ValueError):
    """The file's structure is wrong (nothing is imported); `line` says where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class ParsedRow:
    """One data line (1-based `line`): a lead, or why it was rejected."""

    line: int
    lead: LeadRow | None
    error: str | None = None
