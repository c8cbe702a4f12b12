"""Code shared by every Fanout service: settings, contracts, Kafka, Postgres, ClickHouse."""
