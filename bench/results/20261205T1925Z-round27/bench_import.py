"""`fanout bench`'s own import, as its end-to-end runs now make it: N realistic leads
written to a file, then uploaded to the running stack's campaign_api (`POST
/leads/import`), timed, with the CPU every Postgres process spent meanwhile; the
account is deleted afterwards. (Round 21's script with the Postgres figure added.)

    python bench_import.py N RUNS
"""

from __future__ import annotations

import asyncio
import sys

from proc_figures import postgres_cpu

from fanout_cli.bench.e2e import delete_account, prepare_account
from shared.settings import CommonSettings


async def main() -> None:
    n, runs = int(sys.argv[1]), int(sys.argv[2])
    common = CommonSettings()
    for _ in range(runs):
        pg = postgres_cpu()
        account, _key, seconds = await prepare_account(common, n, seed=n)
        pg = postgres_cpu() - pg
        sys.stdout.write(
            f"{n:,} leads uploaded and imported in {seconds:.1f} s ({n / seconds:,.0f} "
            f"leads/s), Postgres {pg * 1e6 / n:.1f} µs of CPU per lead\n"
        )
        sys.stdout.flush()
        await delete_account(common, account)


if __name__ == "__main__":
    asyncio.run(main())
