"""webhook_ingest: verifies ESP webhooks, normalises them onto `email.events`, suppresses.

Every provider endpoint checks the provider's own authentication first, then
parses, then records (suppressions in Postgres, events on Kafka) and answers
2xx only once both are durable, so a provider retries whatever was not recorded.
"""
