"""Endpoint signing secrets: made here, shown once, kept encrypted at rest.

A secret is 32 random bytes, base64-encoded and prefixed `whsec_` (the Standard
Webhooks serialisation; the spec asks for 24 to 64 bytes). The database holds it only
sealed (`shared.sealing`) under the `FANOUT_WEBHOOK_SECRETS_KEY` setting, so a copy of
the database alone signs nothing.
"""

from __future__ import annotations

import base64
import os

from cryptography.fernet import InvalidToken

from shared.sealing import fernet_for
from shared.settings import CommonSettings

PREFIX = "whsec_"
SECRET_BYTES = 32
_INFO = b"fanout outbound webhook endpoint secrets v1"


class SecretUnreadable(Exception):
    """A stored secret that the configured key does not open (the key was changed)."""


def new_signing_secret() -> str:
    """A fresh `whsec_...` secret."""
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_...` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


class SecretBox:
    """Seals secrets for storage and opens them again."""

    def __init__(self, key_material: str) -> None:
        self._fernet = fernet_for(key_material, _INFO)

    def seal(self, secret: str) -> bytes:
        """The stored form of `secret`."""
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        """The secret inside `sealed`; `SecretUnreadable` under another key."""
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("the endpoint's secret was sealed under another key") from exc

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"


def secret_box(common: CommonSettings) -> SecretBox:
    """The box keyed by this deployment's `FANOUT_WEBHOOK_SECRETS_KEY`."""
    return SecretBox(common.secret("webhook_secrets_key"))
