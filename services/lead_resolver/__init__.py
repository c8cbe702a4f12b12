"""lead_resolver: turns launched campaigns into `email.sends` batches of at most 50 leads.

It streams each campaign's matching leads by keyset pagination from a durable
checkpoint, flow-controlled (at most W batches outstanding per campaign) and
interleaved fairly between campaigns, and drives the campaign's state from
`queued` to `sending`.
"""
