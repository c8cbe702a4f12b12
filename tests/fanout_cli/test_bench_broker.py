"""The benchmark's broker figures: counters read, differenced and printed per topic.

The counters come from the real broker in `tests/shared/kafka/test_refetch.py`; here the
arithmetic and what a run without them says.
"""

from __future__ import annotations

from fanout_cli.bench import kafka_load
from fanout_cli.bench.render import broker_per_topic, markdown

BEFORE = """request Produce 100
request Fetch 40
request Fetch 2
topic BytesInPerSec email.sends 1000
topic BytesOutPerSec email.sends 1000
topic MessagesInPerSec email.sends 10
topic BytesInPerSec idle.topic 7
"""
AFTER = """request Produce 160
request Fetch 140
request Fetch 2
request Metadata 5
topic BytesInPerSec email.sends 3000
topic BytesOutPerSec email.sends 67000
topic MessagesInPerSec email.sends 30
topic TotalProduceRequestsPerSec email.sends 20
topic TotalFetchRequestsPerSec email.sends 400
topic BytesInPerSec idle.topic 7
topic FailedFetchRequestsPerSec email.sends 3
"""


def test_versions_are_summed_and_what_did_not_move_is_left_out() -> None:
    load = kafka_load.difference(kafka_load.parse(BEFORE), kafka_load.parse(AFTER))
    assert load.unavailable is None
    assert load.requests == {"Fetch": 100, "Produce": 60, "Metadata": 5}
    assert list(load.requests) == ["Fetch", "Produce", "Metadata"], "most first"
    assert load.topics == {
        "email.sends": {
            "bytes_in": 2000,
            "bytes_out": 66000,
            "records_in": 20,
            "produce_requests": 20,
            "fetch_requests": 400,
        }
    }


def test_the_per_topic_table_shows_how_many_times_each_byte_was_fetched() -> None:
    load = kafka_load.difference(kafka_load.parse(BEFORE), kafka_load.parse(AFTER))
    run = {"leads": 2000, "latency_ms": 0.0, "matched": 2000, "broker": _as_dict(load)}
    table = broker_per_topic(run)
    assert table is not None
    header, rows = table
    assert header[3] == "out / in"
    assert rows == [["email.sends", "0.0", "0.1", "33.0", "20", "10.0", "200.0"]]


def test_a_run_without_broker_figures_says_why() -> None:
    load = kafka_load.difference("no `java` on PATH", kafka_load.parse(AFTER))
    assert load.unavailable == "no `java` on PATH" and not load.topics
    late = kafka_load.difference(kafka_load.parse(BEFORE), "no broker process")
    assert late.unavailable == "no broker process"
    run = {"leads": 10, "latency_ms": 0.0, "matched": 10, "broker": _as_dict(load)}
    assert broker_per_topic(run) is None
    report = markdown(_bench([run]))
    assert "Kafka broker counters, 10 leads @ 0 ms: no `java` on PATH." in report


def _as_dict(load: kafka_load.BrokerLoad) -> dict[str, object]:
    return {"requests": load.requests, "topics": load.topics, "unavailable": load.unavailable}


def _bench(runs: list[dict[str, object]]) -> dict[str, object]:
    e2e = [
        {
            **run,
            "import_per_s": 1.0,
            "completed_s": 1.0,
            "reported_s": 1.0,
            "emails_per_s": 1.0,
            "stages": {
                stage: {"per_s": 1.0, "done_s": 1.0}
                for stage in ("resolve", "send", "sink", "webhooks")
            },
            "simulator_duplicates": 0,
            "every_lead_has_outcome": True,
            "processes": {},
        }
        for run in runs
    ]
    machine = {"cpus": 2, "cpu_model": "x", "memory_gib": 1, "python": "3.11"}
    return {
        "started_at": "now",
        "machine": {**machine, "load_average_at_start": [0, 0, 0]},
        "e2e": e2e,
    }
