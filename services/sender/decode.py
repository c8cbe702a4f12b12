"""`email.sends` values → `SendBatch`, cheaply, contract kept.

The lead resolver built and validated every batch with the same pydantic models, so a
value nearly always has exactly the contract's fields with values of the right types.
Hot path: orjson parses the value, a few checks per recipient confirm that, and the
models are constructed without validating again (`model_construct`), the UUIDs parsed
from their canonical text. Anything that looks off (another spelling of a UUID, a
number as text, a missing or unknown field, a length out of range) takes the slow path:
full pydantic validation of the `SendBatch` contract, which normalises the value or
refuses it with the reason (`ContractError`: dead-letter topic). Tests compare both paths.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson

from shared.contracts import ContractError, Recipient, SendBatch, decode
from shared.contracts.sends import MAX_BATCH

_BATCH_KEYS = frozenset(SendBatch.model_fields)
_RECIPIENT_KEYS = frozenset(Recipient.model_fields)
_UUID_FIELDS = ("campaign_id", "account_id", "run_id")


class _LooksOff(Exception):
    """The fast checks are not sure: validate with pydantic."""


def decode_sends(raw: bytes | None) -> SendBatch:
    """The batch in `raw`; `ContractError` with the reason when it breaks the contract."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return _fast(raw)
    except _LooksOff:
        return decode(SendBatch, raw)


def _uuid(text: Any) -> UUID:
    if type(text) is not str or len(text) != 36:
        raise _LooksOff
    try:
        value = UUID(text)
    except ValueError as exc:
        raise _LooksOff from exc
    if str(value) != text.lower():  # braces, "urn:uuid:"... pydantic decides
        raise _LooksOff
    return value


def _recipient(item: Any) -> Recipient:
    if type(item) is not dict or item.keys() != _RECIPIENT_KEYS:
        raise _LooksOff
    email, merge_vars = item["email"], item["merge_vars"]
    if type(email) is not str or not 3 <= len(email) <= 320 or type(merge_vars) is not dict:
        raise _LooksOff
    return Recipient.model_construct(
        lead_id=_uuid(item["lead_id"]), email=email, merge_vars=merge_vars
    )


def _fast(raw: bytes) -> SendBatch:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _LooksOff from exc
    if type(value) is not dict or value.keys() != _BATCH_KEYS:
        raise _LooksOff
    version, batch_no, items = value["schema_version"], value["batch_no"], value["recipients"]
    if type(version) is not int or type(batch_no) is not int or batch_no < 0:
        raise _LooksOff
    if type(items) is not list or not 1 <= len(items) <= MAX_BATCH:
        raise _LooksOff
    campaign_id, account_id, run_id = (_uuid(value[name]) for name in _UUID_FIELDS)
    return SendBatch.model_construct(
        schema_version=version,
        campaign_id=campaign_id,
        account_id=account_id,
        run_id=run_id,
        batch_no=batch_no,
        recipients=[_recipient(item) for item in items],
    )
