import timeit, uuid, orjson, random
from aiokafka import codec
from shared.contracts import SendBatch, Recipient, encode
# a resolver produce request: 20 send batches; a sender/webhook events value of 50 events
b = [encode(SendBatch(campaign_id=uuid.uuid4(), account_id=uuid.uuid4(), run_id=uuid.uuid4(), batch_no=i,
  recipients=[Recipient(lead_id=uuid.uuid4(), email=f"lead{random.random()}@example.com", merge_vars={"first_name": "Ann", "last_name": "Lee", "country": "FR", "tags": ["a","b"], "attributes": {"plan": "pro", "n": i}}) for i in range(50)])) for i in range(20)]
payload = b"".join(b)
ev = orjson.dumps({"events": [{"event_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4()), "campaign_id": "c0e1", "lead_id": str(uuid.uuid4()), "email": f"l{i}@example.com", "type": "sent", "provider": "simulator", "provider_message_id": f"<{uuid.uuid4()}@x>", "reason": "", "bounce_type": None, "occurred_at": "2026-12-02T18:00:00.123456Z"} for i in range(50)]})
for name, data in (("resolver 20 batches", payload), ("50 events", ev)):
    print(name, len(data), "bytes")
    for label, f in (("lz4 level 9 (aiokafka's)", lambda: codec.lz4_encode(data)), ("lz4 level 0", lambda: codec.lz4_encode(data, level=0)),
                     ("zstd 3", lambda: codec.zstd_encode(data)), ("zstd 1", lambda: codec.zstd_encode(data, level=1)), ("snappy", lambda: codec.snappy_encode(data)), ("gzip", lambda: codec.gzip_encode(data))):
        n = 200
        t = min(timeit.repeat(f, number=n, repeat=5)) / n
        print(f"  {label:28s} {t*1e6:8.1f} us  {len(data)/t/1e6:7.1f} MB/s  ratio {len(data)/len(f()):.2f}")
