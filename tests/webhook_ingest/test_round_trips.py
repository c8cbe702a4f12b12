"""What a webhook request costs Postgres: a request whose events change nothing there
(opens, clicks, deliveries of addresses without a soft-bounce run) opens no transaction,
and one that changes something still writes it all in one."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest

from services.webhook_ingest.recorder import Recorder
from tests.webhook_ingest.conftest import MAILGUN_KEY, Ids, Ingest, example
from tests.webhook_ingest.keys import mailgun_signature

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
URL = "/webhooks/mailgun"
WRITES = {"INSERT", "UPDATE", "DELETE"}


class Statements(list[str]):
    """Every statement the recorder's connections ran, in order."""

    def log(self, record: Any) -> None:
        self.append(" ".join(record.query.split()))

    def kinds(self) -> list[str]:
        return [" ".join(s.split()[:3]).rstrip(";") for s in self]


@pytest.fixture
async def statements(ingest: Ingest, pg_dsn: str) -> AsyncIterator[Statements]:
    """The recorder on a pool of its own whose connections log every statement."""
    seen = Statements()

    async def init(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(seen.log)

    async def keep_session(_conn: asyncpg.Connection) -> None:
        """Released as the service's own pool releases (`shared.db.create_pool`)."""

    recorder: Recorder = ingest.app.state.recorder
    working = recorder.pool
    recorder.pool = await asyncpg.create_pool(
        pg_dsn, min_size=1, max_size=2, init=init, reset=keep_session
    )
    try:
        yield seen
    finally:
        await recorder.pool.close()
        recorder.pool = working


async def _post(ingest: Ingest, name: str, ids: Ids, recipient: str = "") -> None:
    payload: dict[str, Any] = example(f"mailgun/{name}.json")
    payload["event-data"]["user-variables"] = ids.metadata()
    if recipient:
        payload["event-data"]["recipient"] = recipient
    token = secrets.token_hex(25)
    payload["signature"] = mailgun_signature(MAILGUN_KEY, int(time.time()), token)
    response = await ingest.client.post(URL, content=orjson.dumps(payload))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["opened", "clicked"])
async def test_a_request_of_an_open_or_a_click_makes_no_round_trip_to_postgres(
    ingest: Ingest, ids: Ids, statements: Statements, name: str
) -> None:
    await _post(ingest, name, ids)
    assert len(await ingest.emitted(1)) == 1  # recorded on Kafka all the same
    assert statements == []


async def test_a_delivery_without_a_run_is_read_but_opens_no_transaction(
    ingest: Ingest, ids: Ids, statements: Statements
) -> None:
    await _post(ingest, "delivered", ids)  # the filter's first read: whole, in a snapshot
    assert statements and not any(s.split()[0] in WRITES for s in statements)
    statements.clear()
    await _post(ingest, "delivered", ids, recipient="bob@example.com")
    assert len(await ingest.emitted(2)) == 2
    # one read: the filter caught up with the runs committed since; nothing written
    [caught_up] = statements
    assert caught_up.startswith("SELECT n.*, r.account_id, r.email")


async def test_a_delivery_that_ends_a_run_and_a_bounce_are_written_in_one_transaction(
    ingest: Ingest, ids: Ids, statements: Statements
) -> None:
    await _post(ingest, "failed-temporary", ids)  # a soft bounce: the address's run starts
    assert statements.kinds()[0] == "BEGIN"
    assert statements.kinds()[-1] == "COMMIT"
    assert any(s.startswith("INSERT INTO soft_bounce_events") for s in statements)
    statements.clear()
    await _post(ingest, "delivered", ids)  # ends that run: a write, in a transaction
    kinds = statements.kinds()
    assert kinds.count("BEGIN") == 1 and kinds[-1] == "COMMIT"
    assert any(s.startswith("INSERT INTO soft_bounces") for s in statements)
    ended = await ingest.pool.fetchval(
        "SELECT last_delivered_at FROM soft_bounces WHERE account_id = $1", ids.account_id
    )
    assert ended is not None
    assert len(await ingest.emitted(2)) == 2


async def test_a_hard_bounce_still_suppresses_the_address(
    ingest: Ingest, ids: Ids, statements: Statements
) -> None:
    await _post(ingest, "failed-permanent", ids)
    assert statements.kinds()[0] == "BEGIN" and statements.kinds()[-1] == "COMMIT"
    assert await ingest.suppressed(ids.account_id) == {"alice@example.com": "hard_bounce"}
