"""`POST /leads/import`: the streamed bulk import of leads from CSV or JSON Lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.campaign_api.api.deps import SettingsDep
from services.campaign_api.api.models.leads import ImportResult
from services.campaign_api.leads.importer import OnConflict, import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError, problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/leads", tags=["leads"], responses=answers.AUTHENTICATED)

JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
MEDIA_TYPES = {"text/csv": ImportFormat.CSV, **dict.fromkeys(JSON_LINES_TYPES, ImportFormat.JSONL)}
ON_CONFLICT_DOC = (
    "A row whose address is already a lead of the account: `update` (the default, as before "
    "this option existed) merges the row into the lead, `skip` leaves the lead as it was."
)
IMPORT_DOC = """
Upload a CSV or JSON Lines file as the raw request body (streamed: any size up to
the configured import limit). The format comes from `format` or the Content-Type
(`text/csv`, `application/x-ndjson`). With curl send the file with `--data-binary @leads.csv`:
`-d @file` strips its newlines.

- CSV: a header row with `email` (required) and any of `first_name`, `last_name`,
  `country`, `tags` (`;`-separated), `attributes` (a JSON object); every other
  column is an attribute (`plan` or `attributes.plan`), typed: `true`/`false`,
  canonical numbers, otherwise text.
- JSON Lines: one object per line with the fields of `POST /leads`; unknown keys
  reject the line.

Valid rows are upserted by email (the last row for an address wins). With
`on_conflict=update` (the default) a row for an existing lead updates it: blank values
never erase, attributes are merged key by key; with `on_conflict=skip` existing leads
are left untouched and counted as `skipped`. Invalid rows are skipped and listed with
their line number. A file whose structure is broken (no `email` column, not UTF-8,
an unterminated quote) answers 422 and imports nothing: the import is one
transaction.
"""


@router.post(
    "/import",
    response_model=ImportResult,
    # 413 over the import limit, 415 an unknown format, 422 a broken file (with its line)
    responses=problem_responses(413, 415, 422),
    description=IMPORT_DOC,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "email,first_name,country,tags,plan\n"
                    "ada@example.com,Ada,GB,vip;beta,pro\n",
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"email": "ada@example.com", "tags": ["vip"]}\n',
                },
            },
        }
    },
)
async def import_leads_file(
    request: Request,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    format: Annotated[ImportFormat | None, Query(description="Overrides the Content-Type.")] = None,
    on_conflict: Annotated[OnConflict, Query(description=ON_CONFLICT_DOC)] = OnConflict.UPDATE,
) -> ImportResult:
    """Bulk import of leads from CSV or JSON Lines."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = format or MEDIA_TYPES.get(media)
    if fmt is None:
        raise ProblemError(
            415,
            f"send text/csv or application/x-ndjson, or pass ?format= (got {media or 'nothing'})",
        )
    report = await import_leads(
        pool,
        account,
        request.stream(),
        fmt,
        chunk_rows=settings.import_chunk_rows,
        on_conflict=on_conflict,
    )
    return ImportResult.model_validate(report, from_attributes=True)
