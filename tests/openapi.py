"""Checks of an OpenAPI schema shared by the services' tests: every operation's examples."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

OPERATIONS_ENDPOINTS = ("/healthz", "/readyz")


def api_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation but the operations endpoints."""
    return [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        if path not in OPERATIONS_ENDPOINTS
        for method, operation in operations.items()
    ]


def example_faults(spec: dict[str, Any]) -> tuple[list[str], int]:
    """Bodies and answers of the API's operations without an example, or whose example
    does not match its schema; and how many JSON examples were checked."""
    faults, checked = [], 0
    for path, method, operation in api_operations(spec):
        answers = list(operation["responses"].values())
        for part in [operation.get("requestBody", {}), *answers]:
            for media_type, media in part.get("content", {}).items():
                where = f"{method.upper()} {path} {media_type}"
                if "example" not in media and "examples" not in media:
                    faults.append(f"{where}: no example")
                elif "schema" in media and "json" in media_type:
                    schema = {**media["schema"], "components": spec["components"]}
                    validator = Draft202012Validator(schema)
                    faults += [
                        f"{where}: {e.message}" for e in validator.iter_errors(media["example"])
                    ]
                    checked += 1
    return faults, checked
