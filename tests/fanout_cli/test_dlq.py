"""`fanout dlq` against the real broker, on the dead-letter topics of a test's own prefix.

The dead letters are written the way consumers write them (`send_dead_letter`), for
records of `email.sends` that were never there: a replay puts them on the source topic,
where the test reads them back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from fanout_cli.dlq import reading
from fanout_cli.dlq.replay import REPLAY_HEADER, NotReplayable, drop, replay
from fanout_cli.main import app
from shared.kafka.deadletter import send_dead_letter
from shared.kafka.producer import open_producer
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name
from tests.shared.kafka.fakes import FakeRecord

pytestmark = pytest.mark.kafka

KEYS = (b"campaign-a:1", b"campaign-a:2", None)


@dataclass(frozen=True)
class Filled:
    """Dead letters of `sends` on `sends_dlq` (offsets 0-2), one stranger on `events_dlq`."""

    common: CommonSettings
    sends: str
    sends_dlq: str
    events_dlq: str

    def env(self) -> dict[str, str]:
        return {
            "FANOUT_TOPIC_PREFIX": self.common.topic_prefix,
            "FANOUT_KAFKA_BOOTSTRAP_SERVERS": self.common.kafka_bootstrap_servers,
            "COLUMNS": "200",
        }


@pytest.fixture
async def filled(settings: CommonSettings) -> AsyncIterator[Filled]:
    sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
    events_dlq = dead_letter_name(topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix))
    async with open_producer(settings) as producer:
        for n, key in enumerate(KEYS):
            record = FakeRecord(sends, 3, 40 + n, f'{{"batch": {n}}}'.encode(), key)
            await send_dead_letter(producer, record, f"SendBatch: bad field {n}", "fanout-sender")
        await producer.send_and_wait(events_dlq, b"not json at all")
    yield Filled(settings, sends, dead_letter_name(sends), events_dlq)


def _cli(filled: Filled, *args: str, answer: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(app, ["dlq", *args], env=filled.env(), input=answer)
    return result.exit_code, " ".join(re.sub("[│┃]", " ", result.output).split())  # no borders


def test_dlq_list_counts_each_dead_letter_topic(filled: Filled) -> None:
    code, output = _cli(filled, "list")
    assert code == 0, output
    assert f"{filled.sends_dlq} 3 1× SendBatch: bad field 0" in output
    assert f"{filled.events_dlq} 1 1× not a dead letter" in output
    launches = dead_letter_name(topic_name(Topic.CAMPAIGN_LAUNCHES, filled.common.topic_prefix))
    assert f"{launches} 0" in output


def test_dlq_show_a_message_with_its_origin_error_and_payload(filled: Filled) -> None:
    code, output = _cli(filled, "show", "email.sends", "--at", "0:1")
    assert code == 0, output
    assert f"origin {filled.sends} partition 3 offset 41" in output
    assert "SendBatch: bad field 1" in output and '{"batch": 1}' in output
    assert "key campaign-a:2" in output and "1 message(s)" in output


def test_dlq_show_names_the_topics_there_are(base_settings: CommonSettings) -> None:
    env = {"FANOUT_TOPIC_PREFIX": "no-such-prefix.", "COLUMNS": "200"}
    env["FANOUT_KAFKA_BOOTSTRAP_SERVERS"] = base_settings.kafka_bootstrap_servers
    result = CliRunner().invoke(app, ["dlq", "show", "email.sends"], env=env)
    assert result.exit_code == 1
    assert "is not a dead-letter topic here (there are: none)" in " ".join(result.output.split())


async def test_replay_sends_the_original_record_back_with_its_key(filled: Filled) -> None:
    common = filled.common
    chosen = await reading.read_letters(common, filled.sends_dlq, 10, {(0, 0), (0, 2)})
    assert await replay(common, filled.sends_dlq, chosen) == 2

    back = await reading.read_letters(common, filled.sends, 10)
    assert {(x.key, x.raw) for x in back} == {(KEYS[0], b'{"batch": 0}'), (None, b'{"batch": 2}')}
    origins = {dict(x.headers)[REPLAY_HEADER] for x in back}
    assert origins == {f"{filled.sends_dlq}:0:0".encode(), f"{filled.sends_dlq}:0:2".encode()}

    strangers = await reading.read_letters(common, filled.events_dlq, 10)
    with pytest.raises(NotReplayable, match="0:0"):
        await replay(common, filled.events_dlq, strangers)


def test_dlq_replay_asks_first_and_replays_nothing_when_refused(filled: Filled) -> None:
    code, output = _cli(filled, "replay", filled.sends_dlq, "--all", answer="n\n")
    assert code == 1 and "Replay 3 message(s)" in output
    code, output = _cli(filled, "replay", filled.sends_dlq)
    assert code == 1 and "--all" in output
    source = asyncio.run(reading.count_messages(filled.common, [filled.sends]))
    assert source == {filled.sends: 0}


async def test_drop_empties_a_dead_letter_topic(filled: Filled) -> None:
    assert await drop(filled.common, filled.sends_dlq) == 3
    counts = await reading.count_messages(filled.common, [filled.sends_dlq])
    assert counts == {filled.sends_dlq: 0}
    assert await reading.read_letters(filled.common, filled.sends_dlq, 10) == []
