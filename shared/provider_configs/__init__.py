"""Accounts' provider configurations: what each kind holds, and what the sender reads of one.

campaign_api validates, seals and stores them (`services/campaign_api/providers`);
the sender opens the credentials and builds its adapter from them. Both sides
share the per-kind models (`kinds`) and the sealing purpose (`records`) here.
"""
