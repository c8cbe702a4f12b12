"""The simulator's provider dialects wired into the local stack: one credential per purpose.

So that `fanout demo --provider X` can run any adapter through the real send and
webhook paths, the stack configures all three sides of every dialect at once:
the simulator (what it accepts and how it signs webhooks), the sender (each
adapter pointed at the simulator's dialect) and webhook_ingest (each
provider's verification key, SES's topic and the simulator's SNS certificate
URL), and webhook_ingest lists every provider. The credentials are derived from
the stack's simulator secret (FANOUT_SIMULATOR_WEBHOOK_SECRET, in its secrets.env),
one HMAC per purpose, so they are never stored, differ per stack and match on
every side; none is a real provider's. A value already in the environment wins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PROVIDERS = ("simulator", "sendgrid", "mailgun", "postmark", "ses", "smtp")
MAILGUN_DOMAIN = "mg.fanout.example"
SES_CONFIGURATION_SET = "fanout-simulator-events"
SES_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:fanout-simulator-ses-events"
SES_ACCESS_KEY_ID = "AKIAFANOUTSIMULATOR0"
USER = "fanout"
SMTP_PORT = 8725
RATE_PER_PROVIDER = 2000.0  # emails/s the local stack's sender allows each dialect
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _derive(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), f"esp-dialect:{purpose}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DialectCredentials:
    """Every dialect credential of one stack."""

    sendgrid_api_key: str
    sendgrid_private_key: str  # base64 DER PKCS#8 (the simulator signs with it)
    sendgrid_public_key: str  # base64 DER SubjectPublicKeyInfo (webhook_ingest verifies)
    mailgun_api_key: str
    mailgun_signing_key: str
    postmark_server_token: str
    postmark_webhook_password: str
    ses_secret_access_key: str
    smtp_password: str

    @classmethod
    def derive(cls, secret: str) -> DialectCredentials:
        """The credentials of the stack whose simulator secret is `secret`."""
        scalar = int(_derive(secret, "sendgrid-webhook-key"), 16) % (P256_ORDER - 1) + 1
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        private = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(
            sendgrid_api_key="SG." + _derive(secret, "sendgrid-api-key"),
            sendgrid_private_key=base64.b64encode(private).decode(),
            sendgrid_public_key=base64.b64encode(public).decode(),
            mailgun_api_key="key-" + _derive(secret, "mailgun-api-key"),
            mailgun_signing_key=_derive(secret, "mailgun-signing-key"),
            postmark_server_token=_derive(secret, "postmark-server-token"),
            postmark_webhook_password=_derive(secret, "postmark-webhook-password"),
            ses_secret_access_key=_derive(secret, "ses-secret-access-key"),
            smtp_password=_derive(secret, "smtp-password"),
        )


def simulator_env(creds: DialectCredentials, smtp_port: int) -> dict[str, str]:
    """The simulator's dialect settings."""
    prefix = "FANOUT_ESP_SIMULATOR_"
    values = {
        "DIALECTS": json.dumps(["sendgrid", "mailgun", "postmark", "ses"]),
        "SENDGRID_API_KEY": creds.sendgrid_api_key,
        "SENDGRID_WEBHOOK_KEY": creds.sendgrid_private_key,
        "MAILGUN_API_KEY": creds.mailgun_api_key,
        "MAILGUN_WEBHOOK_SIGNING_KEY": creds.mailgun_signing_key,
        "POSTMARK_SERVER_TOKEN": creds.postmark_server_token,
        "POSTMARK_WEBHOOK_USERNAME": USER,
        "POSTMARK_WEBHOOK_PASSWORD": creds.postmark_webhook_password,
        "SES_ACCESS_KEY_ID": SES_ACCESS_KEY_ID,
        "SES_SECRET_ACCESS_KEY": creds.ses_secret_access_key,
        "SES_TOPIC_ARN": SES_TOPIC_ARN,
        "SMTP_PORT": str(smtp_port),
        "SMTP_USERNAME": USER,
        "SMTP_PASSWORD": creds.smtp_password,
    }
    return {prefix + k: v for k, v in values.items()}


def dialect_configs(
    creds: DialectCredentials, simulator_url: str, smtp_port: int
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each provider kind's settings and credentials pointed at its dialect of the simulator:
    the sender's stack-wide adapters, and an account's provider configuration of the kind
    (`fanout demo --provider X`, docs/providers.md)."""
    return {
        "sendgrid": (
            {"base_url": f"{simulator_url}/sendgrid"},
            {"api_key": creds.sendgrid_api_key},
        ),
        "mailgun": (
            {"domain": MAILGUN_DOMAIN, "base_url": f"{simulator_url}/mailgun"},
            {"api_key": creds.mailgun_api_key},
        ),
        "postmark": (
            {"base_url": f"{simulator_url}/postmark"},
            {"server_token": creds.postmark_server_token},
        ),
        "ses": (
            {
                "configuration_set_name": SES_CONFIGURATION_SET,
                "endpoint_url": f"{simulator_url}/ses",
            },
            {"access_key_id": SES_ACCESS_KEY_ID, "secret_access_key": creds.ses_secret_access_key},
        ),
        "smtp": (
            {"host": "127.0.0.1", "port": smtp_port, "security": "none", "connections": 16},
            {"username": USER, "password": creds.smtp_password},
        ),
    }


def sender_env(creds: DialectCredentials, simulator_url: str, smtp_port: int) -> dict[str, str]:
    """Each adapter of the sender pointed at its dialect of the simulator."""
    configs = dialect_configs(creds, simulator_url, smtp_port)
    values = {
        f"{kind}__{field}".upper(): str(value)
        for kind, (settings, credentials) in configs.items()
        for field, value in (settings | credentials).items()
    }
    values["RATE_BUDGETS"] = json.dumps(dict.fromkeys(PROVIDERS, RATE_PER_PROVIDER))
    return {"FANOUT_SENDER_" + k: v for k, v in values.items()}


def ingest_env(creds: DialectCredentials, simulator_url: str) -> dict[str, str]:
    """webhook_ingest's routes and verification of each dialect's webhooks (SMTP has none:
    its bounces come back by mail)."""
    prefix = "FANOUT_WEBHOOK_INGEST_"
    values = {
        "PROVIDERS": json.dumps([name for name in PROVIDERS if name != "smtp"]),
        "SENDGRID_PUBLIC_KEY": creds.sendgrid_public_key,
        "MAILGUN_SIGNING_KEY": creds.mailgun_signing_key,
        "POSTMARK_USERNAME": USER,
        "POSTMARK_PASSWORD": creds.postmark_webhook_password,
        "SES_TOPIC_ARNS": json.dumps([SES_TOPIC_ARN]),
        "SNS_TRUSTED_CERT_URL": f"{simulator_url}/ses/sns-certificate.pem",
    }
    return {prefix + k: v for k, v in values.items()}


def dialect_env(secret: str, simulator_url: str, smtp_port: int = SMTP_PORT) -> dict[str, str]:
    """Every service's dialect settings for the stack whose simulator secret is `secret`."""
    creds = DialectCredentials.derive(secret)
    return {
        **simulator_env(creds, smtp_port),
        **sender_env(creds, simulator_url, smtp_port),
        **ingest_env(creds, simulator_url),
    }
