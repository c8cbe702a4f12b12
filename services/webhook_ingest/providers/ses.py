"""Amazon SES events delivered through SNS: the provider.

Authentication is SNS's (see `sns.py`) plus an allow-list of topic ARNs and a
freshness window, checked before anything is fetched. A
`SubscriptionConfirmation` from an allowed topic is confirmed by GETting its
`SubscribeURL` (only an `https://sns.<region>.amazonaws.com` URL) and answered
as one ignored event. A `Notification` carries one SES event, parsed in
`ses_events.py`; one that cannot be parsed is dead-lettered whole, still signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from services.webhook_ingest.providers.base import (
    Forbidden,
    MalformedPayload,
    Parsed,
    Verified,
)
from services.webhook_ingest.providers.fields import as_object, load_json
from services.webhook_ingest.providers.ses_events import PROVIDER, notification_events
from services.webhook_ingest.providers.sns import is_sns_url, require_fresh, verify_message
from services.webhook_ingest.providers.sns_certificates import CertificateStore
from services.webhook_ingest.providers.sns_http import SubscriptionConfirmer


@dataclass(frozen=True)
class SnsPolicy:
    """Which SNS messages are ours: their topic, and how old (or early) they may be."""

    topics: tuple[str, ...]
    max_age_s: float
    skew_s: float
    trusted_cert_url: str = ""  # outside production: the local simulator's certificate


@dataclass(frozen=True)
class SesProvider:
    """Amazon SES events published to SNS topics of ours, delivered over HTTPS."""

    name: ClassVar[str] = PROVIDER
    summary: ClassVar[str] = (
        "Amazon SES events through SNS: SNS signature versions 1 and 2, the certificate only "
        "from `https://sns.<region>.amazonaws.com/...pem`, the `TopicArn` in `ses_topic_arns` "
        "(else 403). A `SubscriptionConfirmation` is confirmed by GETting its `SubscribeURL` "
        "(same host rule)."
    )
    auth_headers: ClassVar[Mapping[str, str]] = {}

    certificates: CertificateStore
    confirm: SubscriptionConfirmer
    policy: SnsPolicy
    clock: Callable[[], float] = time.time

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:  # noqa: ARG002
        """The SNS message, once its topic, freshness and signature check out (in that order:
        nothing is fetched for a message we would refuse anyway); subscriptions confirmed."""
        message = as_object(load_json(body), "body")
        if message.get("TopicArn") not in self.policy.topics:
            raise Forbidden("TopicArn is not in the allowed SES topics")
        require_fresh(message, self.policy.max_age_s, self.policy.skew_s, self.clock())
        await verify_message(message, self.certificates, self.policy.trusted_cert_url)
        if message["Type"] == "SubscriptionConfirmation":
            url = str(message.get("SubscribeURL"))
            if not is_sns_url(url):
                raise MalformedPayload("SubscribeURL is not an https://sns.<region> URL")
            await self.confirm(url)
        return Verified(body, message)

    def parse(self, verified: Verified) -> Parsed:
        """The events of a `Notification`; other message types are one ignored event."""
        message: Mapping[str, Any] = verified.document
        parsed = Parsed()
        if message["Type"] != "Notification":
            parsed.ignored += 1
        else:  # a notification that cannot be parsed is dead-lettered whole, still signed
            parsed.take(message, "Message", notification_events)
        return parsed
