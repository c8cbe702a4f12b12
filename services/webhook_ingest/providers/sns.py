"""Amazon SNS message authentication (the transport of SES notifications).

SNS signs a canonical string built from the message's own fields with the key
of an X.509 certificate it serves from `https://sns.<region>.amazonaws.com/...pem`.
SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. The certificate URL is
checked against that pattern before anything is fetched, so a forged message
cannot make us fetch from (or trust) a host of the attacker's choosing.
Certificates are cached in memory (bounded LRU); the fetcher (`sns_http.py`)
is injectable so tests can serve a certificate of their own CA.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cachetools import LRUCache
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.webhook_ingest.providers.base import Unauthorized
from services.webhook_ingest.providers.sns_http import CertFetcher

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
        raise Unauthorized("unknown SNS message Type")
    lines: list[str] = []
    for key in keys:
        value = message.get(key)
        if value is None and key == "Subject":
            continue
        if not isinstance(value, str):
            raise Unauthorized(f"SNS field {key} is missing")
        lines += [key, value]
    return ("\n".join(lines) + "\n").encode()


class CertificateCache:
    """Signing keys by certificate URL, fetched once each, at most `size` kept."""

    def __init__(self, fetch: CertFetcher, size: int = 32) -> None:
        self._fetch = fetch
        self._keys: LRUCache[str, rsa.RSAPublicKey] = LRUCache(maxsize=size)

    async def public_key(self, url: str) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at `url` (which must already be checked)."""
        key = self._keys.get(url)
        if key is None:
            key = self._keys[url] = load_signing_key(await self._fetch(url))
        return key


def load_signing_key(pem: bytes) -> rsa.RSAPublicKey:
    """The RSA key of a PEM certificate valid now; `Unauthorized` saying why not."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise Unauthorized("SNS signing certificate is not a PEM X.509 certificate") from exc
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Unauthorized("SNS signing certificate is not valid now")
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise Unauthorized("SNS signing certificate does not hold an RSA key")
    return public


async def verify_message(message: Mapping[str, Any], certificates: CertificateCache) -> None:
    """Raise `Unauthorized` unless `message` carries a valid SNS signature."""
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise Unauthorized("unsupported or missing SNS SignatureVersion")
    cert_url = message.get("SigningCertURL")
    if not isinstance(cert_url, str) or not is_sns_url(cert_url, pem=True):
        raise Unauthorized("SigningCertURL is not an https://sns.<region>.amazonaws.com .pem URL")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("SNS Signature is not base64") from exc
    if not signature:
        raise Unauthorized("SNS Signature is missing")
    canonical = string_to_sign(message)
    key = await certificates.public_key(cert_url)
    try:
        key.verify(signature, canonical, padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise Unauthorized("SNS Signature does not match") from exc
