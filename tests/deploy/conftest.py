"""Fixtures of the deployment tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No FANOUT_* variable of this process leaks into the settings a test builds from a
    manifest's environment."""
    for var in list(os.environ):
        if var.startswith("FANOUT_"):
            monkeypatch.delenv(var)
    return monkeypatch
