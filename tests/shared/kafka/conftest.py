"""A private single-node broker for the tests that restart one or need a new one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fanout_cli.stack.kafka import KafkaBroker, jvm_options
from shared.settings import CommonSettings
from tests.ports import free_ports


@pytest.fixture
def broker(tmp_path: Path, base_settings: CommonSettings) -> Iterator[KafkaBroker]:
    """A broker of the test's own (its ports, its data), accepting connections, stopped at
    the end whatever happened."""
    (port,) = free_ports(1, consecutive=2)
    own = KafkaBroker(
        home=tmp_path,
        cache_dir=base_settings.cache_dir,
        port=port,
        controller_port=port + 1,
        name="kafka-private",
        heap="384m",
        jvm_options=jvm_options(os.environ),  # the suite's (fanout test sets them)
    )
    own.start([])
    try:
        own.wait_ready(120)
        yield own
    finally:
        own.kill()  # its data goes with tmp_path: no controlled shutdown to wait for
