"""`fanout clickhouse ...`: the ClickHouse schema for a cluster, made from report_sink's."""
