"""Open, authenticated SMTP connections kept for reuse, at most `size` at once.

A connection is opened on demand (implicit TLS or STARTTLS as configured, then
AUTH when a user is set), lent for one transaction at a time, and given back;
one that failed is closed and forgotten, so the next transaction opens a fresh
one. aiosmtplib reads exactly one reply per command and drops replies that
arrive early, so commands are not pipelined (RFC 2920) within a connection:
the pool's connections run transactions side by side instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import aiosmtplib

from services.sender.providers.smtp_config import SmtpConfig


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """Verifying TLS, with the configured CA bundle if any (a private relay's)."""
    context = ssl.create_default_context(cafile=config.ca_file or None)
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpPool:
    """Connections to one relay."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._tls = tls_context(config) if config.security != "none" else None
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(config.connections)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one transaction; closed instead of kept if it failed."""
        async with self._slots:
            client = await self._take()
            try:
                yield client
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
                self._give_back(client)  # an answer, not a broken connection
                raise
            except BaseException:
                client.close()
                raise
            self._give_back(client)

    async def aclose(self) -> None:
        """QUIT every idle connection."""
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected:
            self._idle.append(client)

    async def _take(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=self._tls,
            username=config.username or None,
            password=config.password.get_secret_value() or None,
            timeout=config.timeout_s,
            local_hostname=config.local_hostname or None,
        )
        await client.connect()
        return client
