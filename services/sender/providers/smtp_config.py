"""The configuration of an SMTP relay (its own module: the pool and the adapter share it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from services.sender.providers.settings import ProviderConfig
from shared.settings import Seconds


class SmtpConfig(ProviderConfig):
    """An SMTP relay: where it listens, how it is secured and who Fanout is to it."""

    required = ("host",)

    host: str = Field("", description="The relay's host name.")
    port: int = Field(587, ge=1, le=65535, description="587 (STARTTLS) or 465 (implicit TLS).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="STARTTLS, implicit TLS, or none (a relay on loopback only)."
    )
    username: str = Field("", description="AUTH user; empty: no AUTH.")
    password: SecretStr = Field(SecretStr(""), description="AUTH password.")
    ca_file: str = Field("", description="Extra CA bundle the relay's certificate chains to.")
    verify_tls: bool = Field(True, description="Verify the relay's certificate and name.")
    connections: int = Field(8, ge=1, le=256, description="Connections open at most.")
    timeout_s: Seconds = Field(30.0, description="Timeout of one command.")
    local_hostname: str = Field("", description="Name given in EHLO; empty: this host's.")
