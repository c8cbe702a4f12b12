"""Campaigns: the lifecycle state machine, commands through the outbox, the scheduler."""
