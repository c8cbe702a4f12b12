"""The simulator's webhook signature rule (shared.webhook_signature)."""

from __future__ import annotations

import hashlib
import hmac

from shared.webhook_signature import sign, verify

BODY = b'{"events":[]}'


def test_sign_body_matches_documented_rule() -> None:
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, BODY) == f"v1={expected}"


def test_verify_signature_accepts_valid_and_rotated() -> None:
    signature = sign("s3cret", 1700000000, BODY)
    assert verify("s3cret", 1700000000, BODY, signature, now=1700000010)
    assert verify("s3cret", 1700000000, BODY, f"v1=00, {signature}", now=1700000010)


def test_verify_signature_refuses_tampering_and_replay() -> None:
    signature = sign("s3cret", 1700000000, BODY)
    assert not verify("other", 1700000000, BODY, signature, now=1700000000)
    assert not verify("s3cret", 1700000000, BODY + b" ", signature, now=1700000000)
    assert not verify("s3cret", 1700000001, BODY, signature, now=1700000001)
    assert not verify("s3cret", 1700000000, BODY, signature, now=1700000301)
    assert verify("s3cret", 1700000000, BODY, signature, tolerance_s=None, now=1800000000)
