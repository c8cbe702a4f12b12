"""`fanout stack status`'s disk row: how much room the stack's disk has left."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fanout_cli.stack.orchestrate import GIB, LOW_DISK_BYTES, disk_health, disk_verdict


@pytest.mark.parametrize(
    ("total", "free", "ok"),
    [
        (100 * GIB, 50 * GIB, True),
        (100 * GIB, LOW_DISK_BYTES, True),  # at both limits: 5 GiB and 5 %
        (100 * GIB, LOW_DISK_BYTES - 1, False),  # under 5 GiB although over 4 %
        (1000 * GIB, 40 * GIB, False),  # 40 GiB but 4 %
        (10 * GIB, 0, False),
        (0, 0, False),  # a disk that reports nothing is not called fine
    ],
)
def test_a_disk_is_low_under_either_limit(total: int, free: int, ok: bool) -> None:
    verdict = disk_verdict(total, free)
    assert verdict.startswith("ok (") is ok
    assert verdict.startswith("low: ") is not ok
    assert f"{free / GIB:.1f} GiB free" in verdict


def test_the_low_verdict_says_what_to_do() -> None:
    verdict = disk_verdict(100 * GIB, GIB)
    assert "1.0 GiB free, 1%" in verdict
    assert "KafkaStorageError" not in verdict  # the words an operator acts on, not a class
    assert "FANOUT_HOME" in verdict and "Free space" in verdict


def test_a_home_not_created_yet_is_measured_on_its_nearest_parent(tmp_path: Path) -> None:
    home = tmp_path / "not" / "there" / "yet"
    usage = shutil.disk_usage(tmp_path)
    verdict = disk_health(home)
    expected = disk_verdict(usage.total, usage.free)
    assert verdict.split(" ")[0] == expected.split(" ")[0]  # "ok" or "low:" on the same disk
    assert verdict.endswith(f"{usage.free / usage.total:.0%})") or "low: " in verdict
    assert not home.exists()
