"""report_sink: `email.events` into ClickHouse, idempotently; serves the reports API."""
