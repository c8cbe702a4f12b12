"""The DNS records a sending domain publishes, and how each found value is judged.

    _fanout.<domain>              TXT  fanout-verification=<token>      ownership (required)
    <domain>                      TXT  v=spf1 include:<provider> ~all   SPF (required)
    <selector>._domainkey.<domain> TXT v=DKIM1; k=rsa; p=<public key>   DKIM (required)
    _dmarc.<domain>               TXT  v=DMARC1; p=none; rua=...        DMARC (recommended)

The ownership token is random per registration, so an account proves control of
the zone itself, not that someone else's record is there. SPF is judged on the
domain's one SPF record (RFC 7208: two are an error) containing the include; an
existing record with other mechanisms passes as long as the include is in it. DKIM
passes when the selector's record carries this domain's public key. DMARC is shown
as advice: any DMARC record counts, and its absence does not block verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from services.campaign_api.domains.names import ascii_name

OWNERSHIP_PREFIX = "fanout-verification="


class Outcome(StrEnum):
    """What verification found for one record."""

    FOUND = "found"
    MISSING = "missing"
    MISMATCH = "mismatch"


class Purpose(StrEnum):
    """What a record proves or does."""

    OWNERSHIP = "ownership"
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"


@dataclass(frozen=True)
class ExpectedRecord:
    """A record to publish: where, what, and whether verification requires it."""

    purpose: Purpose
    name: str
    value: str
    required: bool
    type: Literal["TXT"] = "TXT"


@dataclass(frozen=True)
class RecordCheck:
    """The verdict on one expected record, with what to do when it did not pass."""

    record: ExpectedRecord
    outcome: Outcome
    detail: str

    @property
    def blocks(self) -> bool:
        """This record stops verification."""
        return self.record.required and self.outcome is not Outcome.FOUND


def expected_records(
    domain: str, *, token: str, spf_include: str, selector: str, public_key: str
) -> list[ExpectedRecord]:
    """The records `domain` publishes, in the order they are shown."""
    name = ascii_name(domain)
    return [
        ExpectedRecord(Purpose.OWNERSHIP, f"_fanout.{name}", f"{OWNERSHIP_PREFIX}{token}", True),
        ExpectedRecord(Purpose.SPF, name, f"v=spf1 include:{spf_include} ~all", True),
        ExpectedRecord(
            Purpose.DKIM, f"{selector}._domainkey.{name}", f"v=DKIM1; k=rsa; p={public_key}", True
        ),
        ExpectedRecord(
            Purpose.DMARC,
            f"_dmarc.{name}",
            f"v=DMARC1; p=none; rua=mailto:postmaster@{name}",
            False,
        ),
    ]


def _tags(text: str) -> dict[str, str]:
    """`k=v; k=v` tag lists (DKIM, DMARC) with whitespace removed from values."""
    pairs = (part.split("=", 1) for part in text.split(";") if "=" in part)
    return {k.strip().lower(): "".join(v.split()) for k, v in pairs}


def _spf(record: ExpectedRecord, texts: list[str]) -> tuple[Outcome, str]:
    spf = [t for t in texts if t.lower().split(" ", 1)[0] == "v=spf1"]
    include = record.value.split()[1].lower()
    if not spf:
        return Outcome.MISSING, f"no SPF record at {record.name}; publish {record.value!r}"
    if len(spf) > 1:
        return Outcome.MISMATCH, f"{len(spf)} SPF records at {record.name}; merge them into one"
    if include not in spf[0].lower().split():
        return Outcome.MISMATCH, f"the SPF record at {record.name} lacks {include!r}; add it"
    return Outcome.FOUND, f"SPF includes {include}"


def _dkim(record: ExpectedRecord, texts: list[str]) -> tuple[Outcome, str]:
    keys = [_tags(t).get("p") for t in texts if "p" in _tags(t)]
    if not keys:
        return Outcome.MISSING, f"no DKIM key at {record.name}; publish {record.value!r}"
    if _tags(record.value)["p"] not in keys:
        return Outcome.MISMATCH, f"the DKIM key at {record.name} is not this domain's key"
    return Outcome.FOUND, "DKIM public key published"


def _ownership(record: ExpectedRecord, texts: list[str]) -> tuple[Outcome, str]:
    tokens = [t.strip() for t in texts if t.strip().startswith(OWNERSHIP_PREFIX)]
    if record.value in tokens:
        return Outcome.FOUND, "ownership token published"
    if tokens:
        return Outcome.MISMATCH, (
            f"{record.name} holds another token; add {record.value!r} (several may coexist)"
        )
    return Outcome.MISSING, f"no ownership token at {record.name}; publish {record.value!r}"


def _dmarc(record: ExpectedRecord, texts: list[str]) -> tuple[Outcome, str]:
    if any(t.replace(" ", "").upper().startswith("V=DMARC1") for t in texts):
        return Outcome.FOUND, "DMARC policy published"
    return Outcome.MISSING, f"recommended: publish {record.value!r} at {record.name}"


JUDGES = {
    Purpose.OWNERSHIP: _ownership,
    Purpose.SPF: _spf,
    Purpose.DKIM: _dkim,
    Purpose.DMARC: _dmarc,
}


def judge(record: ExpectedRecord, texts: list[str]) -> RecordCheck:
    """The verdict on `record` given the TXT values found at its name."""
    return RecordCheck(record, *JUDGES[record.purpose](record, texts))
