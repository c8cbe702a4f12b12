"""Kafka plumbing with Fanout's defaults: idempotent producer, manual-commit consumer loop."""
