"""Campaigns: API actions and the scheduler, each one transaction with its outbox command.

The lifecycle table and the writer of campaign state live in `shared.campaigns`.
"""
