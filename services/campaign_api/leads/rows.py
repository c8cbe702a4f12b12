"""What a parser yields per batch of lines, and the error for a file with a broken structure."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.campaign_api.leads.fields import LeadRecord


class ImportFormatError(ValueError):
    """The file's structure is wrong (nothing is imported); `line` says where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class RowBatch:
    """Parsed data lines: the valid leads in file order, and (1-based line, reason) of the rest."""

    records: list[LeadRecord] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.rejected)
