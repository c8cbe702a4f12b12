"""The ESP simulator: the local default email service provider.

It speaks a small bulk-send HTTP API (batches of up to 50), answers with
configurable latency, throttling, server errors and per-recipient statuses,
drops duplicate message ids, and posts signed webhook batches of delivery
outcomes back to webhook_ingest like a real provider.
"""
