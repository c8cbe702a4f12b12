"""`decode_sends` (msgspec, pydantic when unsure) reads `email.sends` exactly as the
contract does, and `encode_sends` writes what the contract reads back as the same batch:
what msgspec accepts pydantic accepts with the same values, and a value the contract
refuses is refused (`ContractError`), whatever field breaks it."""

from __future__ import annotations

import gc
import uuid
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.base import ContractError, decode
from shared.contracts.fast_sends import FastRecipient, FastSendBatch, decode_sends, encode_sends
from shared.contracts.sends import Recipient, SendBatch
from tests.shared.both_ways import ID, UUIDS, decoded_both_ways

EMAILS = st.one_of(
    st.just("a@example.com"),
    st.text(max_size=5),  # below the 3 characters the contract asks for, or just above
    st.just("x" * 321),  # one over 320
    st.just("x" * 320),
    st.integers(0, 9),
    st.none(),
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
MISSING = object()


GOOD_RECIPIENT: dict[str, Any] = {"lead_id": ID, "email": "a@example.com"}
RECIPIENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "lead_id": UUIDS,
    "email": EMAILS,
    "merge_vars": st.one_of(
        st.dictionaries(st.text(max_size=6), JSON, max_size=4),
        st.sampled_from([[], "vars", None, 1]),
    ),
    "extra": st.just(1),
}
BATCH_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "schema_version": st.sampled_from([2, 1.0, True, "1"]),
    "campaign_id": UUIDS,
    "run_id": UUIDS,
    "batch_no": st.sampled_from([0, -1, 2**40, 1.0, 1.5, "3", None]),
    "recipients": st.sampled_from([[], [GOOD_RECIPIENT] * 50, [GOOD_RECIPIENT] * 51, None]),
    "resolved_xmin": st.sampled_from([0, 2**40, -1, None, 1.0, 1.5, "7", True]),
    "blocked_leads": st.one_of(
        st.lists(UUIDS, max_size=3), st.sampled_from([[ID] * 50, [ID] * 51, None, ID])
    ),
    "extra": st.just(1),
}


@st.composite
def values(draw: st.DrawFn) -> dict[str, Any]:
    """A valid batch with at most one field of the batch and one of a recipient changed
    (or dropped) to another spelling or a value out of the contract's bounds."""
    recipient = dict(GOOD_RECIPIENT, lead_id=str(uuid.uuid4()))
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(RECIPIENT_FIELDS)))
        changed = draw(st.one_of(RECIPIENT_FIELDS[name], st.just(MISSING)))
        recipient[name] = changed
    value: dict[str, Any] = {
        "schema_version": 1,
        "campaign_id": ID,
        "account_id": ID,
        "run_id": str(uuid.uuid4()),
        "batch_no": 7,
        "recipients": [GOOD_RECIPIENT, recipient],
    }
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(BATCH_FIELDS)))
        value[name] = draw(st.one_of(BATCH_FIELDS[name], st.just(MISSING)))
    if isinstance(value["recipients"], list):
        value["recipients"] = [
            {k: v for k, v in r.items() if v is not MISSING} for r in value["recipients"]
        ]
    return {k: v for k, v in value.items() if v is not MISSING}


def _same(fast: FastSendBatch, slow: SendBatch) -> None:
    for name in (
        "campaign_id", "account_id", "run_id", "batch_no", "schema_version", "resolved_xmin",
        "blocked_leads",
    ):  # fmt: skip
        assert getattr(fast, name) == getattr(slow, name), name
    assert len(fast.recipients) == len(slow.recipients)
    for f, s in zip(fast.recipients, slow.recipients, strict=True):
        assert (f.lead_id, f.email, f.merge_vars) == (s.lead_id, s.email, s.merge_vars)


@settings(max_examples=300, deadline=None)
@given(values())
def test_fast_path_accepts_a_subset_of_the_contract_with_the_same_values(
    value: dict[str, Any],
) -> None:
    raw = orjson.dumps(value)
    slow, fast = decoded_both_ways(SendBatch, FastSendBatch, raw)
    if fast is not None and slow is not None:  # msgspec accepted: the same values
        _same(fast, slow)
    if slow is None:  # the contract refuses: so does the decoder (dead letter)
        with pytest.raises(ContractError):
            decode_sends(raw)
    else:
        _same(decode_sends(raw), slow)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=6), JSON, max_size=4), min_size=1, max_size=50))
def test_what_the_resolver_writes_the_contract_reads_back_unchanged(
    merge_vars: list[dict[str, Any]],
) -> None:
    batch = FastSendBatch(
        campaign_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        batch_no=len(merge_vars),
        recipients=[
            FastRecipient(uuid.uuid4(), f"lead{i}@example.com", v) for i, v in enumerate(merge_vars)
        ],
        resolved_xmin=len(merge_vars) * 2**33,
        blocked_leads=[uuid.uuid4()] * (len(merge_vars) % 3),
    )
    raw = encode_sends(batch)
    slow = decode(SendBatch, raw)
    _same(batch, slow)
    assert slow.key() == batch.key()
    assert msgspec.json.decode(raw, type=FastSendBatch) == batch == FastSendBatch.of(slow)


def test_compact_values_take_the_fast_path() -> None:
    slow = SendBatch(
        campaign_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        batch_no=3,
        recipients=[
            Recipient(lead_id=uuid.uuid4(), email="a@example.com", merge_vars={"n": [1, 2.5]})
        ],
    )
    raw = slow.model_dump_json().encode()
    fast = msgspec.json.decode(raw, type=FastSendBatch)  # no fallback needed
    assert fast == decode_sends(raw) == FastSendBatch.of(slow)


def test_a_smaller_batch_keeps_everything_but_its_recipients() -> None:
    batch = decode_sends(
        orjson.dumps(
            {
                "campaign_id": ID,
                "account_id": ID,
                "run_id": ID,
                "batch_no": 4,
                "recipients": [
                    {"lead_id": str(uuid.uuid4()), "email": f"{i}@x.test"} for i in range(3)
                ],
            }
        )
    )
    smaller = batch.with_recipients(batch.recipients[1:])
    assert smaller.recipients == batch.recipients[1:] and smaller.key() == batch.key()
    assert (smaller.run_id, smaller.batch_no) == (batch.run_id, batch.batch_no)


def test_empty_value_is_refused() -> None:
    with pytest.raises(ContractError, match="empty"):
        decode_sends(None)


def test_decoded_batches_are_not_tracked_by_the_garbage_collector() -> None:
    """The sender holds about a hundred batches in flight: their recipients are not objects
    the collector walks at every collection (their ids and merge variables still are)."""
    raw = encode_sends(
        FastSendBatch(
            uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            0,
            [FastRecipient(uuid.uuid4(), "a@example.com", {"tags": ["x"]})],
        )
    )
    batch = decode_sends(raw)
    assert not gc.is_tracked(batch)
    assert not any(gc.is_tracked(r) for r in batch.recipients)
    assert gc.is_tracked(batch.recipients[0].merge_vars)  # what it holds still is
