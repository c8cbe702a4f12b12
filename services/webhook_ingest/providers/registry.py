"""The table of webhook providers one route serves: `POST /webhooks/{name}`.

Each provider listed in the settings (`providers`) is built here with what it
needs (its credential, the timestamp tolerance, SES's certificate cache and
subscription confirmer, Mailgun's token ledger); a provider not listed is not in
the table, so its route answers 404. Adding a provider is one class implementing
`WebhookProvider` and one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.webhook_ingest.config import Settings
from services.webhook_ingest.providers.base import WebhookProvider
from services.webhook_ingest.providers.mailgun import MailgunProvider, TokenLedger
from services.webhook_ingest.providers.postmark import PostmarkProvider
from services.webhook_ingest.providers.sendgrid import SendGridProvider
from services.webhook_ingest.providers.ses import SesProvider, SnsPolicy
from services.webhook_ingest.providers.simulator import SimulatorProvider
from services.webhook_ingest.providers.sns_certificates import CertificateStore
from services.webhook_ingest.providers.sns_http import (
    CertFetcher,
    SubscriptionConfirmer,
    https_confirmer,
    https_fetcher,
)

ProviderTable = Mapping[str, WebhookProvider]


def provider_table(
    settings: Settings,
    *,
    cert_fetcher: CertFetcher | None = None,
    confirm_subscription: SubscriptionConfirmer | None = None,
) -> ProviderTable:
    """The listed providers by name; tests pass their own SNS certificate fetcher and
    confirmer."""
    tolerance = settings.timestamp_tolerance_s

    def ses() -> WebhookProvider:
        certificates = CertificateStore(
            cert_fetcher or https_fetcher(settings.sns_fetch_timeout_s),
            size=settings.sns_cert_cache_size,
            ttl_s=settings.sns_cert_ttl_s,
            failure_ttl_s=settings.sns_cert_failure_ttl_s,
            max_concurrent=settings.sns_max_concurrent_fetches,
            timeout_s=settings.sns_fetch_timeout_s,
        )
        policy = SnsPolicy(
            tuple(settings.ses_topic_arns),
            settings.sns_max_age_s,
            tolerance,
            settings.sns_trusted_cert_url,
        )
        confirm = confirm_subscription or https_confirmer(settings.sns_fetch_timeout_s)
        return SesProvider(certificates, confirm, policy)

    def mailgun() -> WebhookProvider:
        ledger = TokenLedger(2 * tolerance, settings.mailgun_token_cache_size)
        return MailgunProvider(settings.mailgun_signing_key.get_secret_value(), tolerance, ledger)

    builders: dict[str, Callable[[], WebhookProvider]] = {
        "simulator": lambda: SimulatorProvider(
            settings.common.secret("simulator_webhook_secret"), tolerance
        ),
        "ses": ses,
        "sendgrid": lambda: SendGridProvider(
            settings.sendgrid_public_key.get_secret_value(), tolerance
        ),
        "mailgun": mailgun,
        "postmark": lambda: PostmarkProvider(
            settings.postmark_username, settings.postmark_password.get_secret_value()
        ),
    }
    return {name: builders[name]() for name in dict.fromkeys(settings.providers)}
