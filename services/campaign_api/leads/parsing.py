"""Streaming parsers for lead files: CSV and JSON Lines, a chunk of bytes at a time.

Each parser turns an async stream of byte chunks (any sizes) into `RowBatch`es:
the validated leads as COPY records, and for each rejected line its 1-based line
number in the file and the reason. A row-level problem rejects that row only; a
problem with the file's structure (bad CSV header, not UTF-8, an unterminated
quote, an absurdly long line) raises `ImportFormatError`, and nothing is imported.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from enum import StrEnum

import orjson

from services.campaign_api.leads.csv_columns import CsvHeader
from services.campaign_api.leads.fields import LeadFieldError, clean_lead
from services.campaign_api.leads.rows import ImportFormatError, RowBatch

MAX_LINE_BYTES = 1024 * 1024
# `curl -d @file` strips a file's line breaks: its records run into the header, which
# then fails in a puzzling way (an attribute named `planada@example.com`).
NO_LINE_BREAKS = (
    "; the file has no line breaks (curl -d @file removes them: send it with "
    "curl --data-binary @file)"
)


class ImportFormat(StrEnum):
    """Accepted file formats."""

    CSV = "csv"
    JSONL = "jsonl"


def parse_rows(fmt: ImportFormat, chunks: AsyncIterable[bytes]) -> AsyncIterator[RowBatch]:
    """Batches of parsed rows of a `fmt` file arriving as `chunks`."""
    return _csv_rows(chunks) if fmt is ImportFormat.CSV else _jsonl_rows(chunks)


def _jsonl_row(batch: RowBatch, line_no: int, line: bytes) -> None:
    if not line.strip():
        return
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        batch.rejected.append((line_no, f"invalid JSON: {exc}"))
        return
    if not isinstance(value, dict):
        batch.rejected.append((line_no, "expected a JSON object"))
        return
    try:
        batch.records.append(clean_lead(value))
    except LeadFieldError as exc:
        batch.rejected.append((line_no, str(exc)))


async def _jsonl_rows(chunks: AsyncIterable[bytes]) -> AsyncIterator[RowBatch]:
    pending = b""
    line_no = 0
    async for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise ImportFormatError(f"longer than {MAX_LINE_BYTES} bytes", line_no + 1)
        batch = RowBatch()
        for line in lines:
            line_no += 1
            _jsonl_row(batch, line_no, line)
        yield batch
    last = RowBatch()
    _jsonl_row(last, line_no + 1, pending)
    yield last


class _RecordSplitter:
    """Cuts decoded CSV text after the last newline that is outside a quoted field.

    Inside a quoted field every quote is doubled, so a position is outside
    quotes exactly when the number of quote characters before it is even.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""
        self._offset = 0
        self._records = False  # whether any record ended yet

    def feed(self, chunk: bytes, final: bool = False) -> str:
        try:
            text = self._pending + self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"not UTF-8 (byte offset {self._offset + exc.start})") from exc
        self._offset += len(chunk)
        if final:
            self._pending = ""
            return text
        cut = text.rfind("\n")
        while cut >= 0 and text.count('"', 0, cut) % 2:
            cut = text.rfind("\n", 0, cut)
        self._pending = text[cut + 1 :]
        self._records = self._records or cut >= 0
        if len(self._pending) > MAX_LINE_BYTES:
            hint = "" if self._records else NO_LINE_BREAKS
            raise ImportFormatError(
                f"a record longer than {MAX_LINE_BYTES} bytes (unterminated quote?){hint}"
            )
        return text[: cut + 1]


async def _csv_pieces(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    splitter = _RecordSplitter()
    async for chunk in chunks:
        piece = splitter.feed(chunk)
        if piece:
            yield piece
    piece = splitter.feed(b"", final=True)
    if piece:
        yield piece


def _header(fields: list[str], piece: str) -> CsvHeader:
    """The file's header; a broken one says so when the file has no line break at all."""
    try:
        return CsvHeader.parse(fields)
    except ImportFormatError as exc:
        if "\n" in piece or "\r" in piece:
            raise
        raise ImportFormatError(exc.message + NO_LINE_BREAKS, exc.line) from exc


async def _csv_rows(chunks: AsyncIterable[bytes]) -> AsyncIterator[RowBatch]:
    header: CsvHeader | None = None
    lines_before = 0
    async for piece in _csv_pieces(chunks):
        reader = csv.reader(io.StringIO(piece), strict=True)
        batch = RowBatch()
        while True:
            line_no = lines_before + reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ImportFormatError(f"malformed CSV: {exc}", line_no) from exc
            if not fields:
                continue
            if header is None:
                header = _header(fields, piece)
                continue
            header.add_row(batch, line_no, fields)
        lines_before += reader.line_num
        yield batch
    if header is None:
        raise ImportFormatError("empty file: a CSV header with an `email` column is required", 1)
