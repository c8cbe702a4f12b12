"""`fanout account create` prints the first key once; CLI errors show the problem's detail."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from typer.testing import CliRunner

from fanout_cli.demo.api_calls import checked_json
from fanout_cli.stack.errors import StackError
from services.campaign_api.cli import account_app
from shared.auth import account_for_key
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign

pytestmark = pytest.mark.postgres


async def test_create_account_prints_working_key(pg_dsn: str, pool: asyncpg.Pool) -> None:
    args = ["create", "--name", "Acme", "--database-url", pg_dsn]
    result = await asyncio.to_thread(CliRunner().invoke, account_app, args)  # runs its own loop
    assert result.exit_code == 0, result.output
    (key,) = re.findall(r"fo_[0-9a-f]{8}_[A-Za-z0-9_-]+", result.output)
    account = await account_for_key(pool, key)
    assert account is not None
    assert await pool.fetchval("SELECT name FROM accounts WHERE id = $1", account) == "Acme"


def test_create_account_with_postgres_down_is_clear_error() -> None:
    dsn = "postgresql://fanout:secret@127.0.0.1:9/fanout"
    result = CliRunner().invoke(account_app, ["create", "--name", "Acme", "--database-url", dsn])
    assert result.exit_code == 1
    assert "PostgreSQL at postgresql://fanout:***@127.0.0.1:9/fanout is unreachable" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output
    assert "secret" not in result.output


async def test_demo_shows_the_problem_detail_of_a_refused_call(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant.client)
    await tenant.client.post(f"/campaigns/{campaign['id']}/cancel")
    refused = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    with pytest.raises(StackError) as caught:
        checked_json(refused, "launching campaign")
    assert str(caught.value) == (
        "launching campaign failed: HTTP 409: cannot launch a campaign that is cancelled"
    )
