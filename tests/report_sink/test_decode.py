"""Decoding `email.events` values into JSONEachRow rows: fast path, slow path, refusals."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from services.report_sink.decode import event_rows, strict_rows
from shared.contracts.base import ContractError, decode, encode
from shared.contracts.events import EmailEvent, EventBatch
from tests.report_sink.helpers import batches, sends
from tests.shared.both_ways import EVENT_VALUES

ACCOUNT, CAMPAIGN = uuid.uuid4(), uuid.uuid4()
ID_FIELDS = ("event_id", "account_id", "campaign_id", "lead_id")


def _objects(body: bytes) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = orjson.loads(b"[" + body + b"]")
    return rows


def test_decode_compact_value_without_reserialising() -> None:
    batch = batches(sends(ACCOUNT, CAMPAIGN, 3), per_message=3)[0]
    raw = encode(batch)
    rows = event_rows(raw)
    assert rows.events == 3
    assert rows.body in raw  # the value's own bytes
    assert _objects(rows.body) == [e.model_dump(mode="json") for e in batch.events]


def test_decode_value_laid_out_differently() -> None:
    batch = batches(sends(ACCOUNT, CAMPAIGN, 2), per_message=2)[0]
    raw = json.dumps(batch.model_dump(mode="json"), indent=2).encode()
    rows = event_rows(raw)
    assert rows.events == 2
    assert _objects(rows.body) == [e.model_dump(mode="json") for e in batch.events]


def test_decode_value_with_defaults_through_pydantic() -> None:
    event = sends(ACCOUNT, CAMPAIGN, 1)[0].model_dump(mode="json")
    for optional in ("bounce_type", "reason", "provider_message_id"):
        del event[optional]
    rows = event_rows(orjson.dumps({"schema_version": 1, "events": [event]}))
    (row,) = _objects(rows.body)
    assert (row["bounce_type"], row["reason"]) == (None, "")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"type": "exploded"}, "type"),
        ({"provider": "x" * 33}, "provider"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "out of range"),
        ({"event_id": "z" * 8 + "-zzzz-zzzz-zzzz-" + "z" * 12}, "event_id"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_refuse_value_breaking_contract(change: dict[str, object], error: str) -> None:
    event = {**sends(ACCOUNT, CAMPAIGN, 1)[0].model_dump(mode="json"), **change}
    raw = orjson.dumps({"schema_version": 1, "events": [event]})
    with pytest.raises(ContractError, match=error):
        strict_rows(raw)
    if "event_id" not in change:  # a 36-character non-UUID passes the cheap checks...
        with pytest.raises(ContractError):
            event_rows(raw)  # ...every other defect is caught before ClickHouse


def test_rebuild_value_whose_bytes_and_parse_disagree() -> None:
    first, second = (e.model_dump_json() for e in sends(ACCOUNT, CAMPAIGN, 2))
    raw = f'{{"schema_version":1,"events":[{first}],"events":[{second}]}}'.encode()
    rows = strict_rows(raw)  # duplicate key: the parse keeps the last
    assert [r["event_id"] for r in _objects(rows.body)] == [json.loads(second)["event_id"]]
    assert EventBatch.model_validate_json(raw).events[0].event_id == uuid.UUID(
        json.loads(second)["event_id"]
    )


def _with_valid_ids(value: dict[str, Any]) -> dict[str, Any]:
    """`value` with every 36-character id of its events made a UUID."""
    events = value.get("events")
    if not isinstance(events, list):
        return value
    fixed = [
        {
            k: str(uuid.uuid4()) if k in ID_FIELDS and isinstance(v, str) and len(v) == 36 else v
            for k, v in event.items()
        }
        for event in events
    ]
    return {**value, "events": fixed}


@settings(max_examples=1000, deadline=None)
@given(EVENT_VALUES)
def test_rows_hold_exactly_what_the_contract_reads(value: dict[str, Any]) -> None:
    """Whatever one field of one event holds: a value the contract accepts becomes rows
    that read back as its events; one it refuses is refused before ClickHouse, but for an
    id of 36 characters that is no UUID (ClickHouse refuses that insert, `strict_rows`
    then dead-letters the value: test_sink)."""
    raw = orjson.dumps(value)
    try:
        contract: EventBatch | None = decode(EventBatch, raw)
    except ContractError:
        contract = None
    try:
        rows = event_rows(raw)
    except ContractError:
        assert contract is None
        return
    if contract is None:  # accepted: the ids alone were wrong
        decode(EventBatch, orjson.dumps(_with_valid_ids(value)))
        return
    assert rows.events == len(contract.events)
    read_back = [EmailEvent.model_validate_json(orjson.dumps(row)) for row in _objects(rows.body)]
    assert read_back == list(contract.events)
    campaigns = {(uuid.UUID(account), uuid.UUID(campaign)) for account, campaign in rows.campaigns}
    assert campaigns == {(e.account_id, e.campaign_id) for e in contract.events}
