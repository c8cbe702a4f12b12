"""Domain names as Fanout compares them: the domain part of a normalised address.

A campaign's `from_email` is normalised by `shared.emails` (IDNA, lower case); a
registered domain goes through the same function, so `News@Example.COM` and the
domain `example.com` meet as one name and nothing slips between two spellings.
DNS records are shown and looked up under the ASCII (IDNA) form. A domain covers
exactly its own name: `example.com` does not cover `mail.example.com`
(docs/domains.md says why).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from shared.emails import InvalidEmail, normalize_email

MAX_DOMAIN_CHARS = 253
# email-validator speaks of addresses; say the same about a bare domain
WORDING = (
    ("A bracketed IP address after the @-sign", "An IP address"),
    ("The part after the @-sign", "The domain"),
    ("immediately after the @-sign", "at its start"),
    ("An email address", "A domain"),
)


def domain_name(raw: str) -> str:
    """`raw` as a normalised domain name; `ValueError` saying why it is not one."""
    text = raw.strip().removesuffix(".")
    if not text or "@" in text or len(text) > MAX_DOMAIN_CHARS:
        raise ValueError(f"not a domain name (at most {MAX_DOMAIN_CHARS} characters, no '@')")
    try:
        return address_domain(normalize_email(f"postmaster@{text}"))
    except InvalidEmail as exc:
        message = str(exc)
        for theirs, ours in WORDING:
            message = message.replace(theirs, ours)
        raise ValueError(message) from exc


def address_domain(address: str) -> str:
    """The domain of a normalised address (after its last `@`)."""
    return address.rpartition("@")[2]


def ascii_name(domain: str) -> str:
    """The ASCII (IDNA) form of a normalised domain, as DNS knows it."""
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
