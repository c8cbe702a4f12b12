"""The simulator's DNS data: TXT and CNAME records published through `POST /v1/dns`.

A sending domain is verified by looking up the records its owner published
(ownership token, SPF, DKIM, DMARC). Locally nobody owns a real zone, so the
simulator plays the authoritative server for whatever names are published here,
and `fanout demo` publishes the records campaign_api shows. Names are absolute
and compared case-insensitively (DNS rules); a TXT value longer than 255 bytes
is kept as several character-strings, as a DNS provider splits it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, cast

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

RecordType = Literal["TXT", "CNAME"]
MAX_RECORDS = 10_000
MAX_CNAME_HOPS = 8
TTL_S = 60
TXT_CHUNK = 255  # the longest character-string of a TXT record


class ZoneError(ValueError):
    """A record the zone cannot take (bad name, CNAME beside other data, zone full);
    `index` is its place in the records given, if one record is at fault."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class PublishedRecord:
    """One record as the control API shows it."""

    type: RecordType
    name: str
    value: str


@dataclass(frozen=True)
class Answer:
    """What the zone answers to one question: a response code and the answer records."""

    rcode: dns.rcode.Rcode
    rrsets: list[dns.rrset.RRset] = field(default_factory=list)


def parse_name(text: str) -> dns.name.Name:
    """`text` as an absolute, lower-cased DNS name; `ZoneError` if it is not one."""
    try:
        return dns.name.from_text(text.strip()).canonicalize()
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ZoneError(f"{text!r} is not a DNS name: {exc}") from exc


def _chunks(value: str) -> tuple[bytes, ...]:
    raw = value.encode()
    return tuple(raw[i : i + TXT_CHUNK] for i in range(0, len(raw), TXT_CHUNK)) or (b"",)


class Zone:
    """Published records by name and type; `answer` is what the DNS responder serves."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self._names: dict[dns.name.Name, dict[str, list[str]]] = {}

    def __len__(self) -> int:
        return sum(len(values) for node in self._names.values() for values in node.values())

    def publish(self, records: Iterable[PublishedRecord]) -> None:
        """Add `records` (all or none); a record already there is kept once."""
        staged = {name: {k: list(v) for k, v in node.items()} for name, node in self._names.items()}
        for index, record in enumerate(records):
            try:
                self._stage(staged, record)
            except ZoneError as exc:
                raise ZoneError(str(exc), index) from None
        if sum(len(v) for node in staged.values() for v in node.values()) > self.max_records:
            raise ZoneError(f"the zone holds at most {self.max_records} records")
        self._names = staged

    @staticmethod
    def _stage(staged: dict[dns.name.Name, dict[str, list[str]]], record: PublishedRecord) -> None:
        node = staged.setdefault(parse_name(record.name), {})
        value = record.value if record.type == "TXT" else parse_name(record.value).to_text()
        if (record.type == "CNAME") != ("CNAME" in node) and node:
            raise ZoneError(f"{record.name}: a CNAME cannot share its name with other records")
        if record.type == "CNAME" and node and node["CNAME"] != [value]:
            raise ZoneError(f"{record.name} has another CNAME already")
        values = node.setdefault(record.type, [])
        if value not in values:
            values.append(value)

    def withdraw(self, name: str | None = None) -> int:
        """Remove the records of `name` (every record without one); how many went."""
        if name is None:
            removed = len(self)
            self._names.clear()
            return removed
        node = self._names.pop(parse_name(name), {})
        return sum(len(values) for values in node.values())

    def records(self, names: Iterable[str] | None = None) -> list[PublishedRecord]:
        """The published records (of `names` only, if given), by name."""
        wanted = None if names is None else {parse_name(n) for n in names}
        return [
            PublishedRecord(cast(RecordType, kind), owner.to_text(), value)
            for owner, node in sorted(self._names.items())
            if wanted is None or owner in wanted
            for kind, values in node.items()
            for value in values
        ]

    def answer(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> Answer:
        """The records for one question, following CNAMEs inside the zone."""
        name, rrsets = qname.canonicalize(), list[dns.rrset.RRset]()
        for _ in range(MAX_CNAME_HOPS):
            node = self._names.get(name)
            if node is None:
                known = rrsets or self._has_below(name)
                return Answer(dns.rcode.NOERROR if known else dns.rcode.NXDOMAIN, rrsets)
            if "CNAME" in node and rdtype != dns.rdatatype.CNAME:
                target = dns.name.from_text(node["CNAME"][0])
                rrsets.append(self._rrset(name, "CNAME", node["CNAME"]))
                name = target
                continue
            values = node.get(dns.rdatatype.to_text(rdtype))
            if values:
                rrsets.append(self._rrset(name, dns.rdatatype.to_text(rdtype), values))
            return Answer(dns.rcode.NOERROR, rrsets)
        return Answer(dns.rcode.SERVFAIL, [])  # a CNAME loop

    def _has_below(self, name: dns.name.Name) -> bool:
        """An empty non-terminal (`_domainkey.x` under `fanout._domainkey.x`) exists."""
        return any(owner.is_subdomain(name) for owner in self._names)

    @staticmethod
    def _rrset(name: dns.name.Name, kind: str, values: list[str]) -> dns.rrset.RRset:
        klass = dns.rdataclass.IN
        if kind == "CNAME":
            cname = dns.rdata.from_text(klass, dns.rdatatype.CNAME, values[0])
            return dns.rrset.from_rdata(name, TTL_S, cname)
        rdatas = [dns.rdtypes.ANY.TXT.TXT(klass, dns.rdatatype.TXT, _chunks(v)) for v in values]
        return dns.rrset.from_rdata_list(name, TTL_S, rdatas)
