"""DKIM keys of sending domains: one RSA key pair per domain, the private half sealed.

Fanout makes the key rather than adopting a provider's, so a domain keeps its key
whichever provider sends (SES and Mailgun take a customer's key, the SMTP path signs
itself); the public half is the `p=` of the TXT record the domain publishes. The
private key is stored only sealed (`shared.sealing`) under `FANOUT_DKIM_KEY_SECRET`,
so a database dump alone signs nothing. Generating a key costs a few hundred
milliseconds of CPU: callers run it in a thread.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.sealing import fernet_for

PUBLIC_EXPONENT = 65537
SEAL_INFO = b"fanout sending-domain DKIM private keys v1"


@dataclass(frozen=True)
class DkimKey:
    """A new key pair: the public key as DKIM's `p=` and the sealed private key."""

    public_key: str
    sealed_private_key: bytes


def public_key_text(key: rsa.RSAPublicKey) -> str:
    """The `p=` value of a DKIM record: base64 of the DER SubjectPublicKeyInfo (RFC 6376)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def generate_key(bits: int, secret: str) -> DkimKey:
    """A fresh RSA key pair of `bits`, its private key sealed with `secret`."""
    private = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DkimKey(
        public_key_text(private.public_key()), fernet_for(secret, SEAL_INFO).encrypt(pem)
    )


def open_private_key(sealed: bytes, secret: str) -> rsa.RSAPrivateKey:
    """The private key of `sealed` (for the signer); `cryptography.fernet.InvalidToken`
    if `secret` is not the one it was sealed with."""
    key = serialization.load_pem_private_key(
        fernet_for(secret, SEAL_INFO).decrypt(sealed), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
