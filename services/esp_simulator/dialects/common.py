"""What the dialects share: a provider's emails as the engine's bulk request, and refusals.

The engine needs, per email, the deterministic Message-ID (duplicates are
recognised by it) and Fanout's ids (its events carry them back); a dialect
finds them where its provider keeps them and answers the provider's own 400
when they are missing (`DialectError` names the field).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest
from shared.simulator_status import MessageStatus

ID_FIELDS = ("account_id", "campaign_id", "lead_id")
# the answers of a provider whose send call only accepts: a recipient's failure, like its
# delivery, reaches the sender later by webhook (SendGrid, Mailgun)
ACCEPTED_ONLY = frozenset({MessageStatus.ACCEPTED})


class DialectError(ValueError):
    """A request the dialect refuses with its provider's 400; `field` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def bulk_request(sender: str, reply_to: str | None, messages: list[dict[str, Any]]) -> BulkRequest:
    """The engine's request; `DialectError` naming the first field at fault."""
    body = {"from": sender, "reply_to": reply_to, "messages": messages}
    try:
        return BulkRequest.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()))
        raise DialectError(where, str(error.get("msg", "invalid"))) from None


def fanout_ids(values: Mapping[str, Any], where: str) -> dict[str, str]:
    """Fanout's ids among `values` (one email's metadata); `DialectError` if one is missing."""
    ids = {name: values.get(name) for name in ID_FIELDS}
    for name, value in ids.items():
        if isinstance(value, list) and len(value) == 1:
            ids[name] = value = value[0]
        if not isinstance(value, str) or not value:
            raise DialectError(f"{where}.{name}", "required by the simulator (Fanout's ids)")
    return {name: str(value) for name, value in ids.items()}


def retry_headers(refusal: CallRefused) -> dict[str, str]:
    """`Retry-After` (whole seconds) of a refusal that asks for a delay."""
    if refusal.retry_after_s is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(refusal.retry_after_s)))}


def header_value(headers: Mapping[str, str], name: str) -> str:
    """The value of header `name` (any case) in `headers`, or ""."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")
