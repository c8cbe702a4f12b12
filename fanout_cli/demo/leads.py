"""Realistic synthetic leads, generated as a stream (never a list of a million rows)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson

FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Linus",
    "Katherine",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Sophie",
    "Lucas",
    "Mia",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Mateo",
    "Yuki",
    "Aarav",
    "Chloe",
    "Ines",
    "Omar",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Torvalds",
    "Johnson",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Martin",
    "Garcia",
    "Müller",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Sharma",
    "Silva",
    "Novak",
)
COUNTRIES = (
    ("US", 30),
    ("GB", 12),
    ("DE", 12),
    ("FR", 10),
    ("ES", 6),
    ("IT", 6),
    ("NL", 5),
    ("SE", 4),
    ("JP", 5),
    ("IN", 5),
    ("BR", 5),
)
TAGS = ("newsletter", "customer", "trial", "webinar", "vip", "churn-risk", "partner", "beta")
PLANS = (("free", 55), ("pro", 30), ("team", 12), ("enterprise", 3))
SOURCES = ("organic", "ads", "referral", "event", "import")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "corp.example")


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def lead_rows(count: int, seed: int = 42, prefix: str = "lead") -> Iterator[dict[str, object]]:
    """`count` leads with names, countries, tags and typed attributes; deterministic by seed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield {
            "email": f"{first.lower()}.{prefix}{n}@{rng.choice(DOMAINS)}",
            "first_name": first,
            "last_name": last,
            "country": _weighted(rng, COUNTRIES),
            "tags": rng.sample(TAGS, k=rng.randint(0, 3)),
            "attributes": {
                "plan": _weighted(rng, PLANS),
                "seats": rng.randint(1, 250),
                "score": round(rng.random() * 100, 1),
                "source": rng.choice(SOURCES),
                "last_login": (now - timedelta(days=rng.randint(0, 365))).date().isoformat(),
            },
        }


def jsonl_chunks(count: int, seed: int = 42, chunk_rows: int = 2000) -> Iterator[bytes]:
    """The leads as JSON Lines, in chunks of bytes, for a streamed upload."""
    buffer: list[bytes] = []
    for row in lead_rows(count, seed):
        buffer.append(orjson.dumps(row))
        if len(buffer) >= chunk_rows:
            yield b"\n".join(buffer) + b"\n"
            buffer.clear()
    if buffer:
        yield b"\n".join(buffer) + b"\n"
