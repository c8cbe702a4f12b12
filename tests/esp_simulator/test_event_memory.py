"""What the simulator keeps per waiting event and per call: nothing the cyclic collector
has to walk.

Events wait for their webhook post (minutes, with an outcome delay, and hundreds of
thousands of them); every object of theirs that the collector tracks is walked by each
young collection until it is posted. The fast path keeps ids as text and the events,
messages and ids are untracked msgspec structs (`events.py`). The request log keeps up to
100,000 call records for the simulator's life, walked by every full collection if tracked
(`requestlog.py`).
"""

from __future__ import annotations

import gc
import uuid

import orjson
from pydantic import SecretStr

from services.esp_simulator.api.fastpath import parse_bulk
from services.esp_simulator.config import Settings
from services.esp_simulator.engine import Simulator
from services.esp_simulator.events import Email
from shared.settings import CommonSettings
from tests.esp_simulator.helpers import SECRET, bulk, message

CALLS = 20


def _simulator() -> Simulator:
    common = CommonSettings(environment="test", simulator_webhook_secret=SecretStr(SECRET))
    # an hour's outcome delay: every event stays queued for the test's length
    return Simulator(
        Settings(common=common, webhook_url="http://127.0.0.1:9/hook", outcome_delay_ms=3.6e6)
    )


def _calls() -> list[list[Email]]:
    """Calls of 50 emails of one campaign each, as the sender makes them, parsed."""
    account, campaign = str(uuid.uuid4()), str(uuid.uuid4())
    calls = []
    for call in range(CALLS):
        ids = [
            {"account_id": account, "campaign_id": campaign, "lead_id": str(uuid.uuid4())}
            for _ in range(50)
        ]
        body = orjson.dumps(bulk([message(call * 50 + i, metadata=ids[i]) for i in range(50)]))
        emails = parse_bulk(body)
        assert emails is not None  # the fast path took it
        calls.append(emails)
    return calls


async def test_waiting_events_add_no_tracked_objects() -> None:
    simulator = _simulator()
    calls = _calls()
    gc.collect()
    tracked_before = len(gc.get_objects())
    for emails in calls:
        answers = await simulator.send_emails(emails)
        assert isinstance(answers, list) and len(answers) == 50
    del answers
    gc.collect()
    assert simulator.outbox.pending >= CALLS * 50  # one event per message at least
    # nothing per call or per event stays tracked: the request log's records are untracked
    # structs sharing their campaign's UUID (as tracked records, each with its own UUID,
    # they added 2 objects a call; as ids and dataclasses the events added about 4 each)
    assert len(gc.get_objects()) - tracked_before <= CALLS // 2
