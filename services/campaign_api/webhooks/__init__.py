"""The account's webhook endpoints and their delivery log (docs/webhooks-outbound.md).

campaign_api registers endpoints and keeps their secrets (sealed); the notifier service
delivers to them. Replaying puts deliveries back in the notifier's queue.
"""
