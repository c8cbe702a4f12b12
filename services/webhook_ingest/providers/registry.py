"""The table of webhook providers one route serves: `POST /webhooks/{name}`.

Each provider is built here from the settings with what it needs (its
credential, the timestamp tolerance, SES's certificate cache and subscription
confirmer, Mailgun's token ledger). Adding a provider is one class
implementing `WebhookProvider` and one line below.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    """Every provider by name; tests pass their own SNS certificate fetcher and confirmer."""
    tolerance = settings.timestamp_tolerance_s
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
    ledger = TokenLedger(2 * tolerance, settings.mailgun_token_cache_size)
    providers: list[WebhookProvider] = [
        SimulatorProvider(settings.common.signing_secret.get_secret_value(), tolerance),
        SesProvider(
            certificates,
            confirm_subscription or https_confirmer(settings.sns_fetch_timeout_s),
            policy,
        ),
        SendGridProvider(settings.sendgrid_public_key.get_secret_value(), tolerance),
        MailgunProvider(settings.mailgun_signing_key.get_secret_value(), tolerance, ledger),
        PostmarkProvider(settings.postmark_username, settings.postmark_password.get_secret_value()),
    ]
    return {provider.name: provider for provider in providers}
