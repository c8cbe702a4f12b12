"""The webhook provider protocol, and what providers produce before normalisation.

A provider is an object with a `name`, documentation for the OpenAPI schema
(`summary`, `auth_headers`) and two steps: `verify(headers, body)` checks the
provider's own authentication on the raw request, before anything is parsed
into events, and returns the `Verified` request or raises `Unauthorized`
(`Forbidden`, `ProviderUnavailable`); `parse(verified)` turns it into
`ProviderEvent`s. A body that cannot be read at all raises `MalformedPayload`
(400); one provider event that cannot be parsed is `Rejected` with its reason
and the others go on (`Parsed.take`), so one bad event never fails the rest
of the request. `verify` is async
for every provider because some must fetch (SES's signing certificates).
One route serves every provider of the table (`providers/registry.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from shared.contracts.events import BounceType, EventType


class Refusal(StrEnum):
    """Why authentication failed: a metric label and a log field, never the 401's body
    (a caller without credentials learns nothing from the answer)."""

    NOT_CONFIGURED = "not_configured"  # the provider's credential is not set (or unusable)
    MISSING = "missing"  # no credential, or part of it
    MALFORMED = "malformed"  # a credential that cannot be read
    STALE = "stale"  # a signed time outside the accepted window
    MISMATCH = "mismatch"  # the signature or credentials do not match
    REPLAYED = "replayed"  # a single-use token seen before
    CERTIFICATE = "certificate"  # an SNS signing certificate that is unusable or not Amazon's


class Unauthorized(Exception):
    """The request does not carry the provider's valid authentication (401).

    The message says why, for logs; `reason` classifies it for metrics.
    """

    def __init__(self, detail: str, reason: Refusal) -> None:
        super().__init__(detail)
        self.reason = reason


class Forbidden(Exception):
    """Authentic, but from a source we do not accept, e.g. an SNS topic not allowed (403)."""


class MalformedPayload(ValueError):
    """The authenticated body is not what the provider documents (400); the message says why."""


class ProviderUnavailable(Exception):
    """Something of the provider's we need (an SNS certificate) cannot be fetched now (503)."""


def _nothing_to_release() -> None:
    """Verifying claimed nothing."""


@dataclass(frozen=True)
class Verified:
    """A request whose provider authentication checked out.

    `document` is the JSON body when verifying had to read it (Mailgun, SES);
    `release` gives back what verifying claimed (Mailgun's single-use token)
    when the request ends up not recorded, so the provider's retry passes.
    """

    body: bytes
    document: Any = None
    release: Callable[[], None] = _nothing_to_release


class ProviderEvent(msgspec.Struct, frozen=True, gc=False):
    """One provider-reported fact about one recipient, before normalisation.

    `key` is the provider's own stable id of this fact, the same on every retry;
    `metadata` holds the ids the sender attached (account_id, campaign_id,
    lead_id) as the provider echoed them back, or is empty for mail Fanout did
    not send.

    A msgspec struct, not a frozen dataclass: one is made per webhook event, and a frozen
    dataclass's `__init__` sets each of its ten fields through `object.__setattr__` (1.2 µs
    an event against 0.22). Not tracked by the cyclic collector: it holds text, a time and
    the provider's metadata object, nothing that refers back to it.
    """

    provider: str
    key: str
    type: EventType
    email: str
    occurred_at: datetime
    metadata: Mapping[str, Any]
    provider_message_id: str = ""
    reason: str = ""
    bounce_type: BounceType | None = None
    where: str = ""  # its place in the payload, for error messages


@dataclass(frozen=True)
class Rejected:
    """A provider event that cannot be recorded: kept whole with why, for the dead-letter topic."""

    raw: Any
    reason: str


OneEvent = Callable[[Any, str], "ProviderEvent | list[ProviderEvent] | None"]


@dataclass
class Parsed:
    """A verified body's events we record, how many provider events we do not map, and the
    ones that cannot be parsed. `raws[i]` is the provider event `events[i]` was made of, as
    the provider sent it (what a rejection later keeps whole): beside the events, not in
    them, so no event is made twice (a copy holding it cost about 1 µs per event, 6 % of
    the service's busy time in py-spy)."""

    events: list[ProviderEvent] = field(default_factory=list)
    ignored: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    raws: list[Any] = field(default_factory=list)

    def take(self, raw: Any, where: str, parse_one: OneEvent) -> None:
        """Add what `parse_one(raw, where)` makes of one provider event: its events (None: an
        event we do not map), or, when it raises `MalformedPayload`, the event rejected."""
        try:
            made = parse_one(raw, where)
        except MalformedPayload as exc:
            self.rejected.append(Rejected(raw, str(exc)))
            return
        if made is None:
            self.ignored += 1
            return
        for event in made if isinstance(made, list) else [made]:
            self.events.append(event)
            self.raws.append(raw)


class WebhookProvider(Protocol):
    """An ESP's webhooks: how they authenticate and what their events mean."""

    @property
    def name(self) -> str:
        """The path segment of its route: `POST /webhooks/{name}`."""
        ...

    @property
    def summary(self) -> str:
        """One paragraph for the OpenAPI description: what it posts and how it signs."""
        ...

    @property
    def auth_headers(self) -> Mapping[str, str]:
        """The request headers that carry its authentication, with what each holds."""
        ...

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """The request, once its authentication checks out; `Unauthorized` otherwise."""
        ...

    def parse(self, verified: Verified) -> Parsed:
        """The events of a verified request; `MalformedPayload` naming the field at fault."""
        ...
