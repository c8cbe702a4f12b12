"""Each ESP adapter by kind, and the condition of a campaign whose provider cannot be used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.sender.providers.base import EmailProvider
from services.sender.providers.mailgun import MailgunProvider
from services.sender.providers.postmark import PostmarkProvider
from services.sender.providers.sendgrid import SendGridProvider
from services.sender.providers.ses import SesProvider
from services.sender.providers.smtp import SmtpProvider


class ProviderUnavailable(Exception):  # noqa: N818 - a condition, like ProviderStopped
    """The campaign's provider is unknown or cannot be set up (e.g. no credentials)."""


# each adapter from its configuration (the sender's settings field of the same name)
ADAPTERS: dict[str, Callable[[Any], EmailProvider]] = {
    "sendgrid": SendGridProvider,
    "mailgun": MailgunProvider,
    "postmark": PostmarkProvider,
    "smtp": SmtpProvider,
    "ses": SesProvider,
}
