"""Fixtures of the lead resolver tests: the send-path harness's simulator and process starter."""

from tests.send_path import simulator, start

__all__ = ["simulator", "start"]
