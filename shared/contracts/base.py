"""Common base of every message: a schema version and strict decoding."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class ContractError(ValueError):
    """A message that does not match its topic's contract (goes to the dead-letter topic)."""


class Message(BaseModel):
    """Base of every topic value. Unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1


M = TypeVar("M", bound=Message)


def encode(message: Message) -> bytes:
    """Serialise a message to the JSON bytes put on the wire."""
    return message.model_dump_json().encode()


def decode(model: type[M], raw: bytes | None) -> M:
    """Parse wire bytes into `model`, raising `ContractError` with the reason."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ContractError(f"{model.__name__}: {where}: {first['msg']}") from exc
