"""An SES v2 `SendBulkEmail` body as the engine's bulk request.

SendBulkEmail sends templates: the inline template's `{{name}}` placeholders are
replaced by each entry's `ReplacementTemplateData` (simple substitution, as SES
does for inline templates). The Message-ID is the `X-Fanout-Message-ID`
replacement header (SES replaces Message-IDs), Fanout's ids are the message
tags (default tags, then the entry's).
"""

from __future__ import annotations

import json
import re
from typing import Any

from services.esp_simulator.dialects.common import (
    DialectError,
    bulk_request,
    fanout_ids,
    header_value,
)
from services.esp_simulator.protocol import BulkRequest

MESSAGE_ID_HEADER = "X-Fanout-Message-ID"
PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")


def _tags(raw: Any) -> dict[str, str]:
    return {str(t.get("Name")): str(t.get("Value")) for t in raw or [] if isinstance(t, dict)}


def _render(template: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    return {
        part: PLACEHOLDER.sub(
            lambda m: str(data.get(m.group(1), "")), str(template.get(part) or "")
        )
        for part in ("Subject", "Html", "Text")
    }


def _message(
    entry: Any, template: dict[str, Any], tags: dict[str, str], where: str
) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise DialectError(where, "expected an object")
    to = (entry.get("Destination") or {}).get("ToAddresses") or [""]
    replacement = (entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {}
    try:
        data = json.loads(replacement.get("ReplacementTemplateData") or "{}")
    except ValueError:
        raise DialectError(f"{where}.ReplacementTemplateData", "not valid JSON") from None
    parts = _render(template, data)
    headers = {
        str(h.get("Name")): str(h.get("Value")) for h in entry.get("ReplacementHeaders") or []
    }
    return {
        "message_id": header_value(headers, MESSAGE_ID_HEADER),
        "to": str(to[0]),
        "subject": parts["Subject"],
        "html": parts["Html"],
        "text": parts["Text"],
        "headers": {k: v for k, v in headers.items() if k.lower() != MESSAGE_ID_HEADER.lower()},
        "metadata": fanout_ids(
            {**tags, **_tags(entry.get("ReplacementTags"))}, f"{where}.ReplacementTags"
        ),
    }


def bulk_email_request(document: Any) -> BulkRequest:
    """The engine's request of a SendBulkEmail body."""
    if not isinstance(document, dict):
        raise DialectError("body", "expected an object")
    content = (document.get("DefaultContent") or {}).get("Template") or {}
    template = content.get("TemplateContent")
    if not isinstance(template, dict):
        raise DialectError(
            "DefaultContent.Template.TemplateContent", "the simulator needs an inline template"
        )
    tags = _tags(document.get("DefaultEmailTags"))
    entries = document.get("BulkEmailEntries")
    if not isinstance(entries, list) or not entries:
        raise DialectError("BulkEmailEntries", "expected a non-empty list")
    messages = [
        _message(e, template, tags, f"BulkEmailEntries[{i}]") for i, e in enumerate(entries)
    ]
    reply_to = (document.get("ReplyToAddresses") or [None])[0]
    return bulk_request(str(document.get("FromEmailAddress") or ""), reply_to, messages)
