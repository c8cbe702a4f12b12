"""guard: watches `email.events` and pauses campaigns whose bounces or complaints cross their
account's thresholds (or every campaign of an account past its account-wide line), with the
reason shown (docs/deliverability.md).

A consumer group of its own; counts per campaign (total and a sliding window) and per
account and hour in Postgres, once per batch of events, exactly once per record; pauses
through `shared.campaigns.guard_pause`.
"""
