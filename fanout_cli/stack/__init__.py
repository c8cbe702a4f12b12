"""The local stack without Docker: PostgreSQL, Kafka (KRaft), chDB, the simulator and services."""
