"""`email.sends` values as msgspec structs, for the resolver that writes every batch and
the sender that reads every one.

Pydantic building and validating `SendBatch` (50 `Recipient` models with their merge
variables) cost the sender about 440 µs of CPU per batch in the running service and the
resolver its largest share per lead. Hot path: `FastSendBatch` and `FastRecipient`
mirror the contract (same fields, types, defaults and limits; unknown fields refused);
msgspec decodes and validates a value into them, and encodes them to the same JSON.
msgspec accepts a subset of what pydantic does (canonical or hex UUIDs, exact integers),
so a value it accepts is one the contract accepts, with the same values. Anything it
refuses takes the slow path: `SendBatch` validated by pydantic, which either normalises
it or refuses it with the field named (`ContractError`: the dead-letter topic), exactly
as before. The contract stays `shared.contracts.sends`;
`tests/shared/test_fast_sends.py` checks that both agree.

The structs are not tracked by the cyclic garbage collector (`gc=False`): they hold ids,
text and decoded JSON, never a reference back to themselves, and the sender keeps about a
hundred batches in flight, 5,000-6,000 recipients the collector walked at every timed
collection (`shared.service.serve.collect_cycles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

import msgspec

from shared.contracts.base import ContractError, decode
from shared.contracts.sends import MAX_BATCH, Recipient, SendBatch, batch_key


class FastRecipient(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """`Recipient`, as msgspec decodes it."""

    lead_id: UUID
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    merge_vars: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def of(cls, recipient: Recipient) -> FastRecipient:
        """The struct of a validated `Recipient`."""
        return cls(recipient.lead_id, recipient.email, recipient.merge_vars)


class FastSendBatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """`SendBatch`, as msgspec decodes it (required fields first, as msgspec wants)."""

    campaign_id: UUID
    account_id: UUID
    run_id: UUID
    batch_no: Annotated[int, msgspec.Meta(ge=0)]
    recipients: Annotated[list[FastRecipient], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    schema_version: int = 1
    resolved_xmin: Annotated[int, msgspec.Meta(ge=0)] | None = None
    blocked_leads: Annotated[list[UUID], msgspec.Meta(max_length=MAX_BATCH)] = msgspec.field(
        default_factory=list
    )

    @classmethod
    def of(cls, batch: SendBatch) -> FastSendBatch:
        """The struct of a validated `SendBatch` (the slow path's result)."""
        return cls(
            batch.campaign_id,
            batch.account_id,
            batch.run_id,
            batch.batch_no,
            [FastRecipient.of(r) for r in batch.recipients],
            batch.schema_version,
            batch.resolved_xmin,
            list(batch.blocked_leads),
        )

    def key(self) -> bytes:
        """Kafka key: campaign id and batch number (as `SendBatch.key`)."""
        return batch_key(self.campaign_id, self.batch_no)

    def with_recipients(self, recipients: Sequence[FastRecipient]) -> FastSendBatch:
        """The same batch holding `recipients` (at least one) instead."""
        return msgspec.structs.replace(self, recipients=list(recipients))


_DECODER = msgspec.json.Decoder(FastSendBatch)
_ENCODER = msgspec.json.Encoder()


def decode_sends(raw: bytes | None) -> FastSendBatch:
    """One value of `email.sends`; `ContractError` when it breaks the contract."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError:  # ValidationError included
        pass
    return FastSendBatch.of(decode(SendBatch, raw))


def encode_sends(batch: FastSendBatch) -> bytes:
    """The JSON of `batch`, a value the contract reads back as the same batch."""
    return _ENCODER.encode(batch)
