"""Test credentials made on the spot: an RSA key with a self-signed certificate (SNS),
an EC P-256 key (SendGrid), and the signatures each provider computes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from services.esp_simulator.dialects.keys import self_signed_certificate
from services.webhook_ingest.providers.sns import string_to_sign
from shared import webhook_signature

CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:fanout-ses-events"


@dataclass(frozen=True)
class TestKeys:
    """Keys and certificate generated for one test session."""

    __test__ = False  # a data class, not a test class

    sns_key: rsa.RSAPrivateKey
    sns_cert_pem: bytes
    other_key: rsa.RSAPrivateKey
    sendgrid_key: ec.EllipticCurvePrivateKey

    @property
    def sendgrid_public_b64(self) -> str:
        der = self.sendgrid_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()


def make_keys() -> TestKeys:
    """Fresh keys; the SNS certificate is self-signed, valid for a day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, "sns.amazonaws.com (test)", timedelta(days=1))
    return TestKeys(
        sns_key=key,
        sns_cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        other_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        sendgrid_key=ec.generate_private_key(ec.SECP256R1()),
    )


def sign_sns(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "1") -> dict[str, Any]:
    """`message` with SignatureVersion, SigningCertURL and Signature set as SNS does."""
    signed = {"SignatureVersion": version, "SigningCertURL": CERT_URL} | message
    algorithm = hashes.SHA1() if signed["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(signed), padding.PKCS1v15(), algorithm)
    return signed | {"Signature": base64.b64encode(signature).decode()}


def sign_simulator(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The simulator's signature headers for `body` at `timestamp`."""
    return {
        webhook_signature.TIMESTAMP_HEADER: str(timestamp),
        webhook_signature.SIGNATURE_HEADER: webhook_signature.sign(secret, timestamp, body),
    }


def sign_sendgrid(key: ec.EllipticCurvePrivateKey, timestamp: int, body: bytes) -> dict[str, str]:
    """SendGrid's signature headers for `body` at `timestamp`."""
    signature = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
    }


def mailgun_signature(key: str, timestamp: int, token: str) -> dict[str, str]:
    """Mailgun's `signature` object."""
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": str(timestamp), "token": token, "signature": digest}


def basic_auth(user: str, password: str) -> dict[str, str]:
    """An HTTP basic Authorization header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
