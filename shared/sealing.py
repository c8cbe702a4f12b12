"""Secrets stored sealed at rest: Fernet under a key derived per purpose, named by a key id.

A sealed value is stored with the id of the key that sealed it, so the sealing
key can be rotated: the current secret seals, and the secrets it replaced open
what they sealed (`Sealer.open` picks the key by id) until every stored value has
been sealed again under the current one (`Sealer.stale`). Each purpose (DKIM
keys, provider credentials) derives its own key with HKDF, so one secret may serve
several purposes without one sealed value opening as another's. Fernet is
AES-128-CBC with HMAC-SHA256: a value changed at rest fails to open rather than
opening to something else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ID_CHARS = 16

__all__ = ["InvalidToken", "Sealed", "Sealer", "UnknownSealingKey", "fernet_for"]


class UnknownSealingKey(LookupError):
    """A value was sealed under a key this process does not know (rotated out too early)."""


@dataclass(frozen=True)
class Sealed:
    """A sealed value and the id of the key that sealed it."""

    key_id: str
    token: bytes


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def fernet_for(secret: str, purpose: bytes) -> Fernet:
    """The Fernet of `purpose` under `secret`."""
    return Fernet(base64.urlsafe_b64encode(_derive(secret, purpose)))


def key_id(secret: str, purpose: bytes) -> str:
    """A short public name of the key (it reveals nothing of the secret)."""
    return _derive(secret, purpose + b" key id").hex()[:KEY_ID_CHARS]


class Sealer:
    """Seals under the current secret; opens under it or any of the `previous` ones."""

    def __init__(self, current: str, purpose: bytes, previous: Sequence[str] = ()) -> None:
        self._purpose = purpose
        self.current_id = key_id(current, purpose)
        self._fernets = {key_id(s, purpose): fernet_for(s, purpose) for s in (*previous, current)}
        self._fingerprint_key = _derive(current, purpose + b" fingerprint")

    def seal(self, plaintext: bytes) -> Sealed:
        """`plaintext` sealed under the current key."""
        return Sealed(self.current_id, self._fernets[self.current_id].encrypt(plaintext))

    def open(self, sealed: Sealed) -> bytes:
        """The plaintext; `UnknownSealingKey` or `InvalidToken` when it cannot be opened."""
        fernet = self._fernets.get(sealed.key_id)
        if fernet is None:
            raise UnknownSealingKey(f"sealed under key {sealed.key_id}, which is not configured")
        return fernet.decrypt(sealed.token)

    def stale(self, sealed_key_id: str) -> bool:
        """True when a value sealed under `sealed_key_id` should be sealed again."""
        return sealed_key_id != self.current_id

    def fingerprint(self, plaintext: bytes) -> str:
        """A short keyed digest of `plaintext`: tells two values apart, reveals neither."""
        digest = hmac.new(self._fingerprint_key, plaintext, hashlib.sha256).hexdigest()
        return digest[:KEY_ID_CHARS]
