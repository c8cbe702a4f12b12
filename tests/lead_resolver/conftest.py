"""Fixtures of the lead resolver tests: the send-path harness's simulator, process starter and
in-process resolver."""

from tests.send_path import resolver, retired_leftovers, simulator, start

__all__ = ["resolver", "retired_leftovers", "simulator", "start"]
