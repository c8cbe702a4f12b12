"""SNS signing keys by certificate URL, under limits a forger cannot push past.

Every certificate URL has already passed the SNS host rule, but a forged
message may name any path on an SNS host, so fetches are what an attacker can
make us do. Hence: keys are cached (bounded, for `ttl_s`), and so are fetch
failures (for `failure_ttl_s`), so a repeated forgery costs nothing; at most
`max_concurrent` fetches run at once, and a request waits for a slot and its
fetch at most `timeout_s` in all (503 after that, remembered as a failure).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cachetools import TTLCache
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from services.webhook_ingest.providers.base import ProviderUnavailable, Refusal, Unauthorized
from services.webhook_ingest.providers.sns_http import CertFetcher

Failure = tuple[str, Refusal | None]  # why, and the refusal if it was not a 503


class CertificateStore:
    """The RSA signing key behind each SNS certificate URL."""

    def __init__(
        self,
        fetch: CertFetcher,
        *,
        size: int = 32,
        ttl_s: float = 3600,
        failure_ttl_s: float = 60,
        max_concurrent: int = 4,
        timeout_s: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._keys: TTLCache[str, rsa.RSAPublicKey] = TTLCache(size, ttl_s, timer=clock)
        # failures are remembered for more URLs than keys: forgeries may name many
        self._failures: TTLCache[str, Failure] = TTLCache(64 * size, failure_ttl_s, timer=clock)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._timeout_s = timeout_s

    async def public_key(self, url: str) -> rsa.RSAPublicKey:
        """The key of the certificate at `url`; `Unauthorized` or `ProviderUnavailable`."""
        key = self._keys.get(url)
        if key is None:
            self._raise_remembered(url)
            key = await self._fetch_bounded(url)
        return key

    async def _fetch_bounded(self, url: str) -> rsa.RSAPublicKey:
        try:
            async with asyncio.timeout(self._timeout_s), self._slots:
                key = self._keys.get(url)  # another request may have fetched it meanwhile
                if key is None:
                    self._raise_remembered(url)  # ... or failed to
                    key = self._keys[url] = load_signing_key(await self._fetch(url))
                return key
        except TimeoutError as exc:
            self._failures[url] = ("SNS certificate fetch timed out", None)
            raise ProviderUnavailable("SNS certificate fetch timed out") from exc
        except Unauthorized as exc:
            self._failures.setdefault(url, (str(exc), exc.reason))
            raise
        except ProviderUnavailable as exc:
            self._failures.setdefault(url, (str(exc), None))
            raise

    def _raise_remembered(self, url: str) -> None:
        failure = self._failures.get(url)
        if failure is not None:
            detail, refusal = failure
            raise ProviderUnavailable(detail) if refusal is None else Unauthorized(detail, refusal)


def load_signing_key(pem: bytes) -> rsa.RSAPublicKey:
    """The RSA key of a PEM certificate valid now; `Unauthorized` saying why not."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise Unauthorized(
            "SNS signing certificate is not a PEM X.509 certificate", Refusal.CERTIFICATE
        ) from exc
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Unauthorized("SNS signing certificate is not valid now", Refusal.CERTIFICATE)
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise Unauthorized("SNS signing certificate does not hold an RSA key", Refusal.CERTIFICATE)
    return public
