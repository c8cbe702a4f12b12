"""Signing keys of the dialects' webhooks: SendGrid's ECDSA key and SNS's certificate.

SendGrid signs its Event Webhook with an EC P-256 key whose public half the
receiver is configured with: the simulator takes the private key from its
settings (so the stack can configure webhook_ingest) or makes one. SNS signs
with an RSA key whose certificate the receiver fetches from `SigningCertURL`:
the simulator makes a key and a self-signed certificate at start and serves
the certificate itself; webhook_ingest trusts that URL only where told to
(`sns_trusted_cert_url`, refused in production).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID


def sendgrid_key(encoded: str) -> ec.EllipticCurvePrivateKey:
    """The key of a base64 DER PKCS#8 EC P-256 private key, or a new one when empty."""
    if not encoded:
        return ec.generate_private_key(ec.SECP256R1())
    key = serialization.load_der_private_key(base64.b64decode(encoded), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("sendgrid_webhook_key is not an EC private key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def self_signed_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    common_name: str,
    valid_for: timedelta,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.Certificate:
    """A certificate of `key` signed by itself, valid from an hour ago for `valid_for`;
    `extensions` are (extension, critical) pairs. The tests make theirs with it too."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + valid_for)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256())


class SnsSigner:
    """An RSA key and its self-signed certificate, signing SNS messages (version 2); made
    on first use, so a simulator that never posts SES events never pays for the key."""

    def __init__(self, days: int = 365) -> None:
        self._days = days

    @cached_property
    def _pair(self) -> tuple[rsa.RSAPrivateKey, bytes]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        lifetime = timedelta(days=self._days)
        certificate = self_signed_certificate(key, "fanout esp simulator sns", lifetime)
        return key, certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_pem(self) -> bytes:
        """The certificate, PEM (served at the notifications' SigningCertURL)."""
        return self._pair[1]

    def sign(self, canonical: bytes) -> str:
        """SHA256withRSA of `canonical`, base64."""
        signature = self._pair[0].sign(canonical, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()
