"""Checking an AWS Signature Version 4 the way SES does, with botocore's signer.

The request's `Authorization` names the access key, the scope (date, region,
service) and the signed headers; the signature is computed again from those
headers, the body and the configured secret, and must match. A wrong key or
signature is what SES answers 403 for (`UnrecognizedClientException`,
`SignatureDoesNotMatch`).
"""

from __future__ import annotations

import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureRefused(Exception):
    """The request is not signed by the configured key; `code` is SES's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_signature(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    key_id: str,
    secret: str,
) -> None:
    """Raise `SignatureRefused` unless the request is signed with `key_id`/`secret`."""
    match = AUTHORIZATION.match(headers.get("authorization", ""))
    if match is None or not key_id or match["key"] != key_id:
        raise SignatureRefused(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    signed = match["headers"].split(";")
    replay = AWSRequest(
        method=method, url=url, data=body, headers={name: headers.get(name, "") for name in signed}
    )
    replay.context["timestamp"] = headers.get("x-amz-date", "")
    token = headers.get("x-amz-security-token")
    signer = SigV4Auth(Credentials(key_id, secret, token), match["service"], match["region"])
    canonical = signer.canonical_request(replay)
    expected = signer.signature(signer.string_to_sign(replay, canonical), replay)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureRefused(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
