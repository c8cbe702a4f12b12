"""The JSON Schema exports: committed and current, and as strict as the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.contracts.base import ContractError, decode
from shared.contracts.catalog_doc import with_catalog
from shared.contracts.export import expected_files, main, stale_files, write
from shared.contracts.registry import CATALOG, Contract, contract_named

CASES = [(c, name, raw) for c in CATALOG for name, raw in c.examples()]


def _validator(contract: Contract, version: int) -> Draft202012Validator:
    schema = json.loads(contract.schema_file(version).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_and_catalog_are_current() -> None:
    stale = stale_files(expected_files())
    assert stale == [], f"{stale} differ from the models: run `make schemas`"
    assert main(["--check"]) == 0


def test_every_contract_has_examples_and_a_schema_per_version() -> None:
    assert {c.name for c in CATALOG} >= {"campaign.launches", "email.sends", "email.events"}
    for contract in CATALOG:
        assert contract.examples(), f"no example messages for {contract.name}"
        for version, model in contract.versions.items():
            assert model.model_fields["schema_version"].default == version
            assert contract.schema_file(version).is_file()


@pytest.mark.parametrize(
    ("contract", "name", "raw"), CASES, ids=[f"{c.name}/{n}" for c, n, _ in CASES]
)
def test_example_validates_against_json_schema(contract: Contract, name: str, raw: bytes) -> None:
    data = json.loads(raw)
    version = data["schema_version"]
    _validator(contract, version).validate(data)
    decode(contract.versions[version], raw)


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for step in path[:-1]:
            data = data[step]
        data[path[-1]] = value

    return change


def _drop(key: str) -> Callable[[Any], None]:
    return lambda data: data.pop(key)


REFUSED = [
    ("email.sends", "batch.json", _set(["surprise"], 1)),
    ("email.sends", "batch.json", _set(["batch_no"], -1)),
    ("email.sends", "batch.json", lambda d: d.update(recipients=d["recipients"][:1] * 51)),
    ("email.events", "sent.json", _set(["events", 0, "bounce_type"], "medium")),
    ("email.events", "sent.json", _set(["events", 0, "lead_id"], "not-a-uuid")),
    ("email.events", "sent.json", _set(["events"], [])),
    ("campaign.launches", "launch.json", _set(["kind"], "explode")),
    ("campaign.launches", "launch.json", _drop("run_id")),
    ("dead-letters", "refused_send_batch.json", _drop("error")),
]


@pytest.mark.parametrize(("topic", "example", "change"), REFUSED)
def test_json_schema_refuses_what_the_model_refuses(
    topic: str, example: str, change: Callable[[Any], None]
) -> None:
    contract = contract_named(topic)
    data = json.loads(dict(contract.examples())[example])
    change(data)
    assert not _validator(contract, 1).is_valid(data)
    with pytest.raises(ContractError):
        decode(contract.current, json.dumps(data).encode())


def test_write_replaces_stale_schemas_and_removes_leftovers(tmp_path: Path) -> None:
    current, changed, leftover = (
        tmp_path / "a.v1.json",
        tmp_path / "b.v1.json",
        tmp_path / "c.v1.json",
    )
    current.write_text("{}\n")
    changed.write_text('{"old": true}\n')
    leftover.write_text("{}\n")
    files = {current: "{}\n", changed: '{"new": true}\n', tmp_path / "d.v1.json": "{}\n"}
    stale = stale_files(files, tmp_path)
    assert stale == sorted([changed, leftover, tmp_path / "d.v1.json"])
    write(files, stale)
    assert stale_files(files, tmp_path) == []
    assert not leftover.exists()


def test_catalog_needs_its_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_catalog("# Message contracts\n")
