"""A value decoded by a contract's pydantic model and by its msgspec mirror, for the tests
that check the mirror accepts a subset of the contract with the same values, and the UUID
spellings both are tried on."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from hypothesis import strategies as st

from shared.contracts.base import ContractError, Message, decode

M = TypeVar("M", bound=Message)
S = TypeVar("S", bound=msgspec.Struct)


def decoded_both_ways(model: type[M], mirror: type[S], raw: bytes) -> tuple[M | None, S | None]:
    """`raw` as `model` and as `mirror`, each None where that side refuses it; a value the
    mirror accepts must be one the contract accepts too."""
    try:
        slow: M | None = decode(model, raw)
    except ContractError:
        slow = None
    try:
        fast: S | None = msgspec.json.decode(raw, type=mirror)
    except msgspec.DecodeError:
        fast = None
    assert fast is None or slow is not None, (
        f"the mirror accepts what the contract refuses: {raw!r}"
    )
    return slow, fast


ID = "9b2d4e6a-1c3f-4a5b-8d7e-0f1a2b3c4d5e"
UUIDS = st.sampled_from(
    [
        ID,
        ID.upper(),
        ID.replace("-", ""),  # hex: both read it
        "{" + ID + "}",
        "urn:uuid:" + ID,
        "z" * 8 + ID[8:],  # not hex
        ID[:-1],
        ID[:8] + ID[9:13] + "-" + ID[13:],  # hyphen misplaced
        "",
        12,
        None,
    ]
)
