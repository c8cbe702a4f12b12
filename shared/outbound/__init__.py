"""Outbound webhooks: what campaign_api (endpoints) and the notifier (deliveries) share.

Fanout tells a customer's own systems what happened (a campaign paused or completed, a
lead bounced) by POSTing to the endpoints the account registered, shaped and signed per
the Standard Webhooks specification (docs/webhooks-outbound.md):

- `event_types`: the event types an endpoint can subscribe to, and which campaign moves
  and per-lead events make them;
- `secrets`: the `whsec_...` signing secrets, and their encryption at rest;
- `signing`: the `webhook-id` / `webhook-timestamp` / `webhook-signature` headers;
- `destinations`: which URLs may be called (https, no private addresses: SSRF).
"""
