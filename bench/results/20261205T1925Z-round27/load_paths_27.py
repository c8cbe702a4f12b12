"""Round 21's `load_paths.py` (bench/results/20261205T0500Z-import-wal) with three variants
added, each with the importer's mark set as the importer sets it:

- direct_ids-noted: the importer's COPY as it ran at migration 0019;
- direct_ids-notedfk: the same without the foreign key from `leads` to `accounts`;
- direct_ids-notedtrig: without the key, the accounts checked once per statement over the
  transition table instead, as migration 0020's trigger does.

    PYTHONPATH=<repository>:bench/results/20261205T0500Z-import-wal \\
        python load_paths_27.py N direct_ids-noted,direct_ids-notedtrig,...
"""

from __future__ import annotations

import asyncio

import load_paths  # round 21's, from its folder on PYTHONPATH

NOTED = "SELECT set_config('fanout.attribute_keys_noted', 'on', true)"
NO_KEY = "ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey"
CHECKED_PER_STATEMENT = """
CREATE OR REPLACE FUNCTION note_lead_attribute_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE wanted uuid[]; found int;
BEGIN
    SELECT array_agg(DISTINCT account_id) INTO wanted FROM new_rows;
    SELECT count(*) INTO found FROM (SELECT 1 FROM accounts WHERE id = ANY(wanted) FOR KEY SHARE) l;
    IF found < coalesce(cardinality(wanted), 0) THEN
        RAISE EXCEPTION 'no such account' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF current_setting('fanout.attribute_keys_noted', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RETURN NULL;
END
$$"""

load_paths.DROPS.update(
    {
        "noted": NOTED,
        "notedfk": f"{NOTED}; {NO_KEY}",
        "notedtrig": f"{NOTED}; {NO_KEY}; {CHECKED_PER_STATEMENT}",
    }
)

if __name__ == "__main__":
    asyncio.run(load_paths.main())
