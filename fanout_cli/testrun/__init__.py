"""`fanout test`: the test suite on a stack of its own, stopped however the run ends."""
