"""The broker's JVM options: one garbage collector, the stack's default unless one is chosen."""

from __future__ import annotations

import pytest

from fanout_cli.stack.kafka import DEFAULT_GC, collector_options, jvm_options


def test_default_collector_when_the_options_choose_none() -> None:
    assert collector_options(()) == (DEFAULT_GC,)
    assert collector_options(("-XX:TieredStopAtLevel=1",)) == (DEFAULT_GC,)


@pytest.mark.parametrize("chosen", ["-XX:+UseG1GC", "-XX:+UseParallelGC", "-XX:+UseZGC"])
def test_a_chosen_collector_replaces_the_default(chosen: str) -> None:
    options = jvm_options({"FANOUT_STACK_KAFKA_JVM_OPTIONS": f"-XX:TieredStopAtLevel=1 {chosen}"})
    assert collector_options(options) == ()
    command = [*collector_options(options), *options]
    assert [o for o in command if o.startswith("-XX:+Use") and o.endswith("GC")] == [chosen]
