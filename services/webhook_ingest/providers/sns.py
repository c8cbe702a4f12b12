"""Amazon SNS message authentication (the transport of SES notifications).

SNS signs a canonical string built from the message's own fields with the key
of an X.509 certificate it serves from `https://sns.<region>.amazonaws.com/...pem`.
SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. The certificate URL is
checked against that pattern before anything is fetched, so a forged message
cannot make us fetch from (or trust) a host of the attacker's choosing; the
keys and the limits on fetching them are `sns_certificates.py`. The signed
`Timestamp` must be recent (`require_fresh`): SNS retries an HTTPS delivery
for at most an hour, so an older message is a replay.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from services.webhook_ingest.providers.base import MalformedPayload, Refusal, Unauthorized
from services.webhook_ingest.providers.fields import parse_iso
from services.webhook_ingest.providers.sns_certificates import CertificateStore

SNS_HOST = re.compile(r"^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
MESSAGE_TYPES = {
    "Notification": NOTIFICATION_KEYS,
    "SubscriptionConfirmation": CONFIRMATION_KEYS,
    "UnsubscribeConfirmation": CONFIRMATION_KEYS,
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,  # SNS's SignatureVersion 1 is SHA1withRSA by definition
    "2": hashes.SHA256,
}


def is_sns_url(url: str, *, pem: bool = False) -> bool:
    """True for `https://sns.<region>.amazonaws.com/...` (ending in .pem if `pem`)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and parts.username is None
        and parts.password is None
        and SNS_HOST.match(parts.hostname or "") is not None
        and "@" not in parts.netloc
        and (not pem or parts.path.endswith(".pem"))
    )


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical `Key\\nValue\\n` string of the keys SNS signs for this message type."""
    keys = MESSAGE_TYPES.get(str(message.get("Type")))
    if keys is None:
        raise Unauthorized("unknown SNS message Type", Refusal.MALFORMED)
    lines: list[str] = []
    for key in keys:
        value = message.get(key)
        if value is None and key == "Subject":
            continue
        if not isinstance(value, str):
            raise Unauthorized(f"SNS field {key} is missing", Refusal.MISSING)
        lines += [key, value]
    return ("\n".join(lines) + "\n").encode()


def require_fresh(message: Mapping[str, Any], max_age_s: float, skew_s: float, now: float) -> None:
    """Raise `Unauthorized` unless the signed `Timestamp` is at most `max_age_s` old and at
    most `skew_s` ahead of `now`: a captured message cannot be replayed for ever."""
    try:
        sent = parse_iso(message.get("Timestamp"), "Timestamp").timestamp()
    except MalformedPayload as exc:
        raise Unauthorized("SNS Timestamp is missing or not ISO 8601", Refusal.MALFORMED) from exc
    if not -skew_s <= now - sent <= max_age_s:
        raise Unauthorized("SNS Timestamp is outside the accepted window", Refusal.STALE)


async def verify_message(
    message: Mapping[str, Any], certificates: CertificateStore, trusted_cert_url: str = ""
) -> None:
    """Raise `Unauthorized` unless `message` carries a valid SNS signature.

    Everything that can be checked without the certificate is checked before it is fetched.
    `trusted_cert_url` is one more certificate URL accepted beside Amazon's (the local
    simulator's; the settings refuse it in production).
    """
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise Unauthorized("unsupported or missing SNS SignatureVersion", Refusal.MALFORMED)
    cert_url = message.get("SigningCertURL")
    trusted = bool(trusted_cert_url) and cert_url == trusted_cert_url
    if not isinstance(cert_url, str) or not (trusted or is_sns_url(cert_url, pem=True)):
        raise Unauthorized(
            "SigningCertURL is not an https://sns.<region>.amazonaws.com .pem URL",
            Refusal.CERTIFICATE,
        )
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("SNS Signature is not base64", Refusal.MALFORMED) from exc
    if not signature:
        raise Unauthorized("SNS Signature is missing", Refusal.MISSING)
    canonical = string_to_sign(message)
    key = await certificates.public_key(cert_url)
    try:
        key.verify(signature, canonical, padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise Unauthorized("SNS Signature does not match", Refusal.MISMATCH) from exc
