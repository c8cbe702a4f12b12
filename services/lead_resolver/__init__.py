"""lead_resolver: turns launched campaigns into `email.sends` batches of at most 50 leads.

It streams each campaign's matching leads by keyset pagination from a durable
checkpoint, flow-controlled (at most W batches outstanding per campaign) and
interleaved fairly between campaigns, leaves out (and reports, with the reason) the
leads it must not send to, and drives the campaign's state from `queued` to
`sending`.
"""
