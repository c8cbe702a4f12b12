"""Idempotency keys (`Idempotency-Key`, IETF draft-ietf-httpapi-idempotency-key-header).

Every POST of the campaign API accepts the header; a route added later gets it by
default, because one ASGI middleware (`middleware.IdempotencyKeys`) handles it for
the whole app rather than each route. Per account, for 24 hours:

- the first request with a key runs normally; its answer (status, body and the
  headers that describe it) is stored before it is sent;
- a retry with the same key, method, path, query, content type and body gets that
  stored answer again (with `Idempotent-Replayed: true`) and does nothing;
- the same key with anything else of the request different answers 422 naming the
  header; a retry while the first request still runs answers 409 (`Retry-After`);
- a first request that ended in a 5xx, or in a crash, keeps no answer: the key is
  free again for a retry that acts (a 5xx means the work was rolled back).

The store is Postgres (`store.py`), expired keys are purged by a worker (`purge.py`).
"""
