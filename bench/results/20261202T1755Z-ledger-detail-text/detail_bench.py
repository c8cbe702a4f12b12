"""Side by side in one run: the sender's RECORD statement with `detail` as jsonb (before)
and as text (after), on scratch copies of the ledger tables, alternating rounds."""
import asyncio, statistics, sys, time, uuid
from datetime import UTC, datetime
import asyncpg
from services.sender import ledger
from services.sender.outcomes import Outcome, outcome_counts
from services.sender.ledger import encode_detail
from shared.contracts import EventType, Recipient

DSN = "postgresql://fanout:fanout@127.0.0.1:55432/fanout"
ROUNDS, BATCHES, PER_CALL = int(sys.argv[1]), 200, 2

def stmt(kind):
    s = ledger.RECORD.replace("send_batch_outcomes", f"x_out_{kind}").replace(
        "send_batch_deferrals", f"x_def_{kind}").replace("send_batch_attempts", f"x_att_{kind}").replace(
        "FROM campaigns c", "FROM x_campaigns c")
    if kind == "jsonb":
        s = s.replace("false, detail,", "false, detail::jsonb,")
    return s

async def main():
    conn = await asyncpg.connect(DSN)
    cid = uuid.uuid4()
    await conn.execute("DROP TABLE IF EXISTS x_out_jsonb, x_out_text, x_def_jsonb, x_def_text, x_att_jsonb, x_att_text, x_campaigns")
    await conn.execute("CREATE TABLE x_campaigns (id uuid PRIMARY KEY)")
    await conn.execute("INSERT INTO x_campaigns VALUES ($1)", cid)
    for kind in ("jsonb", "text"):
        await conn.execute(f"CREATE TABLE x_out_{kind} (LIKE send_batch_outcomes INCLUDING ALL)")
        await conn.execute(f"ALTER TABLE x_out_{kind} ALTER COLUMN detail TYPE {kind} USING detail::{kind}, ADD FOREIGN KEY (campaign_id) REFERENCES x_campaigns(id)")
        await conn.execute(f"CREATE TABLE x_def_{kind} (LIKE send_batch_deferrals INCLUDING ALL)")
        await conn.execute(f"CREATE TABLE x_att_{kind} (LIKE send_batch_attempts INCLUDING ALL)")
    def details(n):
        out = []
        for b in range(n):
            outs = [Outcome(Recipient(lead_id=uuid.uuid4(), email=f"lead{b}.{i}@example{i%7}.com"), EventType.SENT,
                            provider_message_id=f"<{uuid.uuid4()}@fanout.example.com>") for i in range(50)]
            out.append((encode_detail(outs), outcome_counts(outs)))
        return out
    data = details(BATCHES)
    print("detail bytes per batch:", statistics.mean(len(d) for d, _ in data))
    results = {"jsonb": [], "text": []}
    batch_no = 0
    for r in range(ROUNDS):
        for kind in (("jsonb", "text") if r % 2 == 0 else ("text", "jsonb")):
            sql = stmt(kind)
            await conn.execute(f"TRUNCATE x_out_{kind}")
            t0 = time.perf_counter()
            for i in range(0, BATCHES, PER_CALL):
                chunk = data[i:i + PER_CALL]
                nos = list(range(batch_no, batch_no + len(chunk))); batch_no += len(chunk)
                now = datetime.now(UTC)
                await conn.fetch(sql, [cid] * len(chunk), nos, *([c[n] for _, c in chunk] for n in range(4)),
                                 [d for d, _ in chunk], [now] * len(chunk), [None] * len(chunk), [""] * len(chunk), [None] * len(chunk))
            results[kind].append((time.perf_counter() - t0) / BATCHES * 1e6 / 50)
    for kind, xs in results.items():
        print(f"{kind}: median {statistics.median(xs):.2f} µs per email (wall of the statement, client included), rounds {[round(x,2) for x in xs]}")
    rows = await conn.fetch("SELECT query, calls, total_exec_time, rows FROM pg_stat_statements WHERE query LIKE '%x_out_%' AND query LIKE 'WITH b AS%'")
    for row in rows:
        kind = "jsonb" if "x_out_jsonb" in row["query"] else "text"
        print(f"{kind}: pg_stat_statements {row['total_exec_time'] / (row['rows'] * 50) * 1000:.2f} µs of execution per email over {row['calls']} calls")
    await conn.execute("DROP TABLE x_out_jsonb, x_out_text, x_def_jsonb, x_def_text, x_att_jsonb, x_att_text, x_campaigns")
    await conn.close()

asyncio.run(main())
