"""Examples in the OpenAPI schema: a model shows one typical instance of itself.

Every HTTP service documents its response models the same way, so the example
is given once per model through `example_config`; the services' OpenAPI tests
validate each example against its model, so an example cannot drift from the
fields it shows.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict


def example_config(example: dict[str, Any]) -> ConfigDict:
    """The config of a model whose JSON Schema (and so OpenAPI) carries `example`."""
    return ConfigDict(json_schema_extra={"examples": [example]})
