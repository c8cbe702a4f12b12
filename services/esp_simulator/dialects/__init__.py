"""Provider dialects: the simulator answering as SendGrid, Mailgun, Postmark, SES and SMTP.

Each HTTP dialect is a router under `/<dialect>/` that takes the provider's
request shape, checks the provider's credentials, hands the emails to the one
engine (`engine.Simulator.send`, so every knob applies) and answers in the
provider's response shape and error codes; its accepted emails' events are
posted in the provider's webhook format and signature (`*_events.py`). The
SMTP dialect is an aiosmtpd server in the same process (`smtp.py`).
"""
