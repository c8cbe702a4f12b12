"""Receiving domains: which recipient domains are throttled together, and at what rate.

A mailbox provider receives for several domains and limits a sender across all of them:
Gmail answers for gmail.com and googlemail.com (a personal Gmail account "ends in
@gmail.com or @googlemail.com"), Microsoft for outlook.com, hotmail.com, live.com and
msn.com, Yahoo for yahoo.com, ymail.com, rocketmail.com and aol.com. Those are the default
groups; any other domain is a group of its own. A provider configuration's
`domain_limits` name groups of their own (their first domain names the group) with a rate
in emails per second, shared by every sender instance like the configuration's budget
(`services/sender/domain_rates.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

DomainName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
    ),
]

DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("gmail.com", "googlemail.com"),
    ("outlook.com", "hotmail.com", "live.com", "msn.com"),
    ("yahoo.com", "ymail.com", "rocketmail.com", "aol.com"),
)
MAX_LIMITS = 100


class DomainLimit(BaseModel):
    """A rate for mail to one receiving domain group through one provider configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domains: list[DomainName] = Field(
        min_length=1,
        max_length=50,
        description="The receiving domains limited together; the first names the group.",
    )
    rate_per_s: float = Field(
        gt=0,
        le=100_000,
        description="Emails per second to these domains, shared by every sender instance; "
        "lowered on the domain's rate-limit deferrals (4.7.x) and raised back slowly.",
    )

    @field_validator("domains")
    @classmethod
    def _distinct(cls, domains: list[str]) -> list[str]:
        if len(set(domains)) != len(domains):
            raise ValueError("a domain is listed twice")
        return domains

    @property
    def group(self) -> str:
        """The group's name: its first domain."""
        return self.domains[0]


def check_distinct(limits: Iterable[DomainLimit]) -> None:
    """`ValueError` when a domain is in two limits (which one would apply is not clear)."""
    seen: set[str] = set()
    for limit in limits:
        twice = seen & set(limit.domains)
        if twice:
            raise ValueError(f"{sorted(twice)[0]} is in two domain limits")
        seen |= set(limit.domains)


def domain_of(email: str) -> str:
    """The receiving domain of an address, lower-cased ('' when it has none)."""
    _, _, domain = email.rpartition("@")
    return domain.strip().lower().rstrip(".")


def group_table(limits: Iterable[DomainLimit]) -> dict[str, str]:
    """Domain → group name: the configured limits' groups over the default groups."""
    table = {domain: group[0] for group in DEFAULT_GROUPS for domain in group}
    for limit in limits:
        table.update(dict.fromkeys(limit.domains, limit.group))
    return table


def group_of(domain: str, table: Mapping[str, str]) -> str:
    """The group `domain` is throttled in (itself when no group names it)."""
    return table.get(domain, domain)
