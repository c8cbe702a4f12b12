"""Settings of the provider dialects the simulator speaks (part of its `Settings`).

Each dialect has its provider's credentials: what the sender's adapter must
present (API key, server token, AWS keys, SMTP login) and what signs its
webhooks (SendGrid's ECDSA key, Mailgun's signing key, Postmark's basic-auth
user). Empty credentials refuse every call with the provider's 401; the local
stack sets them all (`fanout_cli/stack/esp_dialects.py`). SES's SNS signing
certificate is made at start and served by the simulator itself.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

HTTP_DIALECTS = ("sendgrid", "mailgun", "postmark", "ses")


class DialectSettings(BaseModel):
    """Which dialects run, and each one's credentials."""

    dialects: list[str] = Field(
        default_factory=lambda: list(HTTP_DIALECTS),
        description="HTTP dialects served, each under /<dialect>/ (SMTP runs by smtp_port).",
    )
    dialect_webhook_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Webhook URL per dialect; default: webhook_url's sibling /<dialect>.",
    )
    sendgrid_api_key: SecretStr = Field(SecretStr(""), description="Bearer key of /sendgrid.")
    sendgrid_webhook_key: SecretStr = Field(
        SecretStr(""),
        description="EC P-256 private key (base64 DER PKCS#8) signing SendGrid events; "
        "empty: one is made at start (its public key at /sendgrid/webhook-verification-key).",
    )
    mailgun_api_key: SecretStr = Field(SecretStr(""), description="Basic-auth key of /mailgun.")
    mailgun_webhook_signing_key: SecretStr = Field(
        SecretStr(""), description="HMAC key signing Mailgun events."
    )
    postmark_server_token: SecretStr = Field(
        SecretStr(""), description="X-Postmark-Server-Token of /postmark."
    )
    postmark_webhook_username: str = Field("", description="Basic-auth user of Postmark posts.")
    postmark_webhook_password: SecretStr = Field(
        SecretStr(""), description="Basic-auth password of Postmark posts."
    )
    ses_access_key_id: str = Field("", description="AWS access key id /ses accepts.")
    ses_secret_access_key: SecretStr = Field(
        SecretStr(""), description="Its secret (SigV4 signatures are checked)."
    )
    ses_region: str = Field("us-east-1", description="Region in the SigV4 scope.")
    ses_topic_arn: str = Field(
        "arn:aws:sns:us-east-1:000000000000:fanout-simulator-ses-events",
        description="TopicArn of the SNS notifications carrying SES events.",
    )
    ses_certificate_url: str = Field(
        "",
        description="SigningCertURL of those notifications; empty: "
        "http://<host>:<port>/ses/sns-certificate.pem of this simulator.",
    )
    smtp_port: int | None = Field(
        None, ge=0, le=65535, description="Port of the SMTP dialect; None: no SMTP (0: any)."
    )
    smtp_username: str = Field("", description="AUTH user of the SMTP dialect; empty: no AUTH.")
    smtp_password: SecretStr = Field(SecretStr(""), description="AUTH password.")
