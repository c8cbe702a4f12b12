"""One way to normalise and check an address: leads and suppressions (campaign_api), the
lead resolver's check of stored addresses before a send.

email-validator checks the syntax (no DNS lookups) and normalises the domain
(IDNA, lower case); the whole address is then lower-cased, because mailbox
providers treat local parts case-insensitively and a lead must match its
suppression whatever case either was typed in.

Fast path (imports validate a million addresses): a plain ASCII dot-atom local
part needs no normalisation, so only the domain goes through email-validator,
once per distinct domain (cached). Everything else takes the full path; both
paths accept and produce exactly what `validate_email` would.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


class InvalidEmail(ValueError):
    """Not a syntactically valid email address; the message says why."""


@lru_cache(maxsize=65_536)
def _normalized_domain(domain: str) -> str:
    return validate_email(f"a@{domain}", check_deliverability=False).domain


def _full(candidate: str) -> str:
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc


def normalize_email(raw: str) -> str:
    """The normalised form of `raw`, or `InvalidEmail`."""
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("an email address is required")
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"longer than {MAX_EMAIL_LENGTH} characters")
    local, _, domain = candidate.rpartition("@")
    if 0 < len(local) <= MAX_LOCAL_LENGTH and _DOT_ATOM.fullmatch(local):
        try:
            return f"{local}@{_normalized_domain(domain)}".lower()
        except EmailNotValidError:
            pass  # the full path explains what is wrong
    return _full(candidate)


def is_valid_email(raw: str) -> bool:
    """Whether `normalize_email` would accept `raw` (what the API accepts today).

    The lead resolver asks this of every lead it is about to send to: rows written around
    the API (direct SQL, imports from older versions) may hold addresses the API refuses.
    """
    try:
        normalize_email(raw)
    except InvalidEmail:
        return False
    return True
