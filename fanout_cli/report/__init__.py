"""`fanout report ...` and `fanout sql`: clients of report_sink's HTTP API (port 8702)."""
