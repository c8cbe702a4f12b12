"""Form fields → API bodies, and the API's field errors → messages beside the fields.

The API validates (and answers 422 naming `body.<field>`, with `line` or `path` inside
it); the dashboard only reshapes what a form can say (an address from a local part and
a domain, a UTC time from a datetime-local input, a condition from its JSON) and puts
each error the API names next to the control it belongs to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from services.campaign_api.dashboard.backend import ApiProblem


class FormInvalid(Exception):
    """What the form itself got wrong, by field, before any API call."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def field_errors(problem: ApiProblem) -> dict[str, str]:
    """`{field: message}` from the API's errors at `body.<field>` (the first per field);
    an error with no field goes under `""`."""
    errors: dict[str, str] = {}
    for error in problem.errors:
        loc = list(error.get("loc", ()))
        name = str(loc[1]) if len(loc) > 1 and loc[0] in ("body", "campaign") else ""
        message = str(error.get("msg", ""))
        if error.get("line") is not None:
            message = f"line {error['line']}: {message}"
        errors.setdefault(name, message)
    if not errors:
        errors[""] = problem.detail
    return errors


def address(local: str, domain: str) -> str | None:
    """`local@domain`, or None when both are empty."""
    local, domain = local.strip(), domain.strip()
    if not local and not domain:
        return None
    return f"{local}@{domain}"


def utc_time(value: str) -> str | None:
    """A `datetime-local` value read as UTC, in ISO 8601 with its offset; None if empty."""
    if not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise FormInvalid(
            {"scheduled_at": "expected a date and time, like 2026-12-24T09:00"}
        ) from exc
    return when.replace(tzinfo=when.tzinfo or UTC).isoformat()


def condition(text: str) -> Any:
    """The condition's JSON, decoded (the API says what is wrong inside it)."""
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError as exc:
        raise FormInvalid({"condition": f"not valid JSON: {exc}"}) from exc


def campaign_body(form: dict[str, str]) -> dict[str, Any]:
    """The API body of a campaign form (`POST /campaigns`, or `PATCH` of a draft)."""
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "template_id": form.get("template_id") or None,
        "from_email": address(form.get("from_local", ""), form.get("from_domain", "")),
        "from_name": form.get("from_name", ""),
        "reply_to": address(form.get("reply_local", ""), form.get("reply_domain", "")),
        "condition": condition(form.get("condition", "")),
        "scheduled_at": utc_time(form.get("scheduled_at", "")),
    }
    if form.get("provider_config_id"):
        body["provider_config_id"] = form["provider_config_id"]
    return body


def campaign_form(campaign: dict[str, Any]) -> dict[str, str]:
    """A stored campaign as the form's values (to edit it)."""
    from_local, _, from_domain = str(campaign.get("from_email") or "").partition("@")
    reply_local, _, reply_domain = str(campaign.get("reply_to") or "").partition("@")
    when = campaign.get("scheduled_at")
    return {
        "name": str(campaign.get("name", "")),
        "template_id": str(campaign.get("template_id") or ""),
        "from_local": from_local,
        "from_domain": from_domain,
        "from_name": str(campaign.get("from_name") or ""),
        "reply_local": reply_local,
        "reply_domain": reply_domain,
        "condition": orjson.dumps(campaign.get("condition"), option=orjson.OPT_INDENT_2).decode(),
        "scheduled_at": _local_input(when) if when else "",
        "provider_config_id": str(campaign.get("provider_config_id") or ""),
    }


def _local_input(iso: str) -> str:
    """An ISO time as a `datetime-local` value in UTC (`2026-12-24T09:00`)."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
