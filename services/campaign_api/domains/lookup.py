"""TXT lookups for domain verification, through dnspython's async resolver.

The resolver is the system's (`/etc/resolv.conf`) unless settings name
nameservers (the local stack names the ESP simulator's DNS server). Nothing is
cached here, so a record published a moment ago is seen by the next verification
(resolvers upstream may cache for the record's TTL). A name with no such record
gives an empty list; a resolver that does not answer is `ResolverUnavailable`,
which verification reports as "try again", never as "records missing".
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from services.campaign_api.domains.settings import DomainSettings

EDNS_PAYLOAD = 1232  # the UDP size DNS Flag Day 2020 settled on: no IP fragmentation


class ResolverUnavailable(RuntimeError):
    """No DNS resolver answered in time (or all refused): the records could not be read."""


class TxtLookup:
    """Reads the TXT values of a name, each value's strings joined (RFC 7208 3.3)."""

    def __init__(self, settings: DomainSettings) -> None:
        if settings.dns_nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [str(ip) for ip in settings.dns_nameservers]
            resolver.port = settings.dns_nameserver_port
        else:
            try:
                resolver = dns.asyncresolver.Resolver()
            except dns.exception.DNSException as exc:  # no /etc/resolv.conf
                raise ResolverUnavailable(f"no system DNS resolver configured: {exc}") from exc
        resolver.lifetime = settings.dns_timeout_s
        # EDNS: a 2048-bit DKIM key, or two of them while a key is rotated, passes the
        # 512 bytes of plain DNS over UDP; without it each such answer costs a retry over TCP
        resolver.use_edns(0, 0, EDNS_PAYLOAD)
        self._resolver = resolver

    async def texts(self, name: str) -> list[str]:
        """The TXT values at `name` (absolute); empty when it has none or does not exist."""
        try:
            answer = await self._resolver.resolve(
                dns.name.from_text(name), dns.rdatatype.TXT, search=False, raise_on_no_answer=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:  # timeouts, SERVFAIL/REFUSED from every server
            raise ResolverUnavailable(f"looking up TXT {name}: {exc}") from exc
        if answer.rrset is None:
            return []
        return [
            b"".join(rdata.strings).decode("utf-8", "replace")
            for rdata in answer.rrset
            if rdata.rdtype == dns.rdatatype.TXT
        ]
