"""`fanout bench`: Fanout end to end, and the classic per-email table beside it."""
