"""Sealing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a derived key.

Operators give an ordinary per-stack secret (any string, `FANOUT_*` settings), not a
Fernet-formatted key; HKDF-SHA256 derives the key from it, with a `purpose` of its own
for each kind of sealed value, so one setting's key never opens another's values. A
database dump alone then opens nothing. Used for sending domains' DKIM private keys
(campaign_api) and webhook endpoints' signing secrets (campaign_api, notifier).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fernet_for(key_material: str, purpose: bytes) -> Fernet:
    """The Fernet that seals values of `purpose` under `key_material`; its `decrypt`
    raises `cryptography.fernet.InvalidToken` for a value sealed under another key."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))
