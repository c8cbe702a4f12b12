"""The dialects' state in the app: their settings, signing keys, and webhook formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends

from services.esp_simulator.dialects.keys import SnsSigner, sendgrid_key
from services.esp_simulator.dialects.settings import DialectSettings
from services.esp_simulator.webhooks import WebhookFormat
from shared.http.state import from_state


@dataclass(frozen=True)
class Dialects:
    """Everything a dialect's routes and webhooks need."""

    settings: DialectSettings
    sendgrid_key: ec.EllipticCurvePrivateKey
    sns: SnsSigner
    certificate_url: str

    @classmethod
    def create(cls, settings: DialectSettings, host: str, port: int) -> Dialects:
        """Keys loaded or made; the certificate served by this simulator unless set."""
        url = settings.ses_certificate_url or f"http://{host}:{port}/ses/sns-certificate.pem"
        key = sendgrid_key(settings.sendgrid_webhook_key.get_secret_value())
        return cls(settings, key, SnsSigner(), url)

    def formats(self) -> dict[str, WebhookFormat]:
        """The webhook format of each provider dialect."""
        from services.esp_simulator.dialects.mailgun_events import MailgunFormat
        from services.esp_simulator.dialects.postmark_events import PostmarkFormat
        from services.esp_simulator.dialects.sendgrid_events import SendGridFormat
        from services.esp_simulator.dialects.ses_events import SesFormat

        settings = self.settings
        return {
            "sendgrid": SendGridFormat(self.sendgrid_key),
            "mailgun": MailgunFormat(settings.mailgun_webhook_signing_key.get_secret_value()),
            "postmark": PostmarkFormat(
                settings.postmark_webhook_username,
                settings.postmark_webhook_password.get_secret_value(),
            ),
            "ses": SesFormat(self.sns, settings.ses_topic_arn, self.certificate_url),
        }


DialectsDep = Annotated[Dialects, Depends(from_state("dialects", Dialects))]
