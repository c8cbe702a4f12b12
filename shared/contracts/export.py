"""`python -m shared.contracts.export [--check]` (`make schemas`): contracts for every language.

Writes each contract version as a JSON Schema file, `schemas/<name>.v<N>.json` (draft
2020-12, generated from the pydantic model, so it refuses what the model refuses:
unknown fields, missing fields, out-of-range lists), and renders the topic catalog into
docs/contracts.md. With --check it writes nothing and exits 1 when a committed file is
stale; a test does the same, so the files cannot drift from the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts.catalog_doc import with_catalog
from shared.contracts.registry import CATALOG, SCHEMAS_DIR, Contract

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


def json_schema(contract: Contract, version: int) -> dict[str, Any]:
    """The JSON Schema of one version of a contract."""
    schema = contract.versions[version].model_json_schema(mode="validation")
    return {
        "$schema": DIALECT,
        "$id": f"https://fanout.dev/schemas/{contract.name}.v{version}.json",
        **schema,
    }


def expected_files(docs: Path = DOCS) -> dict[Path, str]:
    """Every generated file with the text it must have."""
    files = {
        contract.schema_file(version): json.dumps(json_schema(contract, version), indent=2) + "\n"
        for contract in CATALOG
        for version in contract.versions
    }
    files[docs] = with_catalog(docs.read_text())
    return files


def stale_files(files: dict[Path, str], schemas_dir: Path = SCHEMAS_DIR) -> list[Path]:
    """Files that differ from `files` or are missing, and schema files no contract has."""
    differ = {p for p, text in files.items() if not p.exists() or p.read_text() != text}
    leftover = set(schemas_dir.glob("*.json")) - set(files)
    return sorted(differ | leftover)


def write(files: dict[Path, str], stale: list[Path]) -> None:
    """Bring the stale files in line: write the expected text, remove leftovers."""
    for path in stale:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        else:
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only report stale files.")
    args = parser.parse_args(argv)
    files = expected_files()
    stale = stale_files(files)
    if args.check:
        if stale:
            sys.stderr.write(f"stale: {', '.join(map(str, stale))}; run `make schemas`\n")
            return 1
    else:
        write(files, stale)
        sys.stdout.write("".join(f"wrote {path}\n" for path in stale))
    if not stale:
        sys.stdout.write("contracts up to date\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
