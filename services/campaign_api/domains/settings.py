"""Settings of sending domains: where verification asks, and the records a domain publishes.

Read with campaign_api's prefix (`FANOUT_CAMPAIGN_API_`), as a settings class of its
own so the domain code takes exactly what it needs. Production leaves the
nameservers empty (the system resolver, `/etc/resolv.conf`); the local stack points
them at the ESP simulator's DNS server, which answers the records `fanout demo`
publishes (docs/domains.md).
"""

from __future__ import annotations

from pydantic import Field, IPvAnyAddress, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.campaign_api.domains.names import domain_name
from shared.settings import Seconds


class DomainSettings(BaseSettings):
    """Verification's resolver and the SPF and DKIM records shown for a new domain."""

    model_config = SettingsConfigDict(
        env_prefix="FANOUT_CAMPAIGN_API_", extra="ignore", frozen=True
    )

    dns_nameservers: list[IPvAnyAddress] = Field(
        default_factory=list,
        description="Resolvers that domain verification asks (JSON list of IP addresses); "
        "empty: the system's (/etc/resolv.conf).",
    )
    dns_nameserver_port: int = Field(
        53, ge=1, le=65535, description="Port of those resolvers (the stack: the simulator's)."
    )
    dns_timeout_s: Seconds = Field(
        5.0, le=60, description="Longest wait for one DNS lookup of a verification."
    )
    spf_include: str = Field(
        "amazonses.com",
        description="The SPF `include:` of the provider that sends the mail (amazonses.com for "
        "SES, sendgrid.net, mailgun.org, spf.mtasv.net for Postmark).",
    )
    dkim_selector: str = Field(
        "fanout",
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        description="DKIM selector of new domains' keys (`<selector>._domainkey.<domain>`).",
    )
    dkim_key_bits: int = Field(
        2048, ge=1024, le=4096, description="RSA size of new domains' DKIM keys (RFC 8301)."
    )

    @field_validator("spf_include")
    @classmethod
    def _spf_include_is_a_domain(cls, value: str) -> str:
        return domain_name(value)
