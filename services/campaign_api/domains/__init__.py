"""Sending domains: an account sends only from domains it proved, through DNS, it controls.

`names` (normalising), `records` (what to publish and how each is judged), `dkim`
(the per-domain key pair), `lookup` (TXT through a DNS resolver), `store` (Postgres),
`verification` (the verify step) and `senders` (the campaign checks). docs/domains.md
is the guide.
"""
