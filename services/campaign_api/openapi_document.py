"""`python -m services.campaign_api.openapi_document [--check]`: the API's OpenAPI document.

The app is built without a server, a database or secrets of the operator (the `test`
environment fills them with throwaway values the document never shows), and its schema is
written to clients/python/openapi.json, the input of the generated Python client (`make
client`). With --check it writes nothing and exits 1 when the committed file is stale; a
test does the same, so the client cannot drift from the API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.settings import CommonSettings

DOCUMENT = Path(__file__).resolve().parents[2] / "clients" / "python" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI schema campaign_api serves at /openapi.json."""
    settings = Settings(common=CommonSettings(environment="test"))
    return create_app(settings).openapi()


def document_text() -> str:
    """The document as it is committed: indented, keys in the app's order, final newline."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with --check report whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=DOCUMENT, help="where to write it")
    args = parser.parse_args(argv)
    text = document_text()
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            sys.stderr.write(f"{args.out} is stale: run `make client`\n")
            return 1
        return 0
    if current != text:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
