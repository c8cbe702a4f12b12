"""Fixtures of the guard tests: the send-path harness's simulator and process starter."""

from tests.send_path import retired_leftovers, simulator, start

__all__ = ["retired_leftovers", "simulator", "start"]
