"""Bounded JSON decoding: deeper than the limit becomes a marker, everything else is kept."""

from __future__ import annotations

import json

import pytest

from shared.http.bounded_json import MAX_DEPTH, Pruned, decode_pruned, prune


def test_prune_cuts_only_containers_past_the_depth() -> None:
    text = '{"a": [[1, [2]], {"b": "x"}], "c": 3}'
    pruned = prune(text, 2)
    value = json.loads(pruned)
    assert value["c"] == 3
    assert value["a"][1] == {"\x00pruned": text.index('{"b"')}
    assert value["a"][0] == {"\x00pruned": text.index("[1")}
    assert prune(text, 4) == text


def test_prune_ignores_brackets_and_escaped_quotes_inside_strings() -> None:
    text = '{"k[": "]}\\"[{", "v": [["deep"]]}'
    cut = text.index('["deep"]')
    assert json.loads(prune(text, 2)) == {"k[": ']}"[{', "v": [{"\x00pruned": cut}]}


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 10_000, 200_000])
def test_decode_pruned_reads_any_depth_down_to_the_limit(levels: int) -> None:
    raw = ('{"x": ' * levels + "1" + "}" * levels).encode()
    value = decode_pruned(raw)
    depth = 0
    while isinstance(value, dict):
        value, depth = value["x"], depth + 1
    assert depth == MAX_DEPTH
    assert isinstance(value, Pruned) and value.offset == 6 * MAX_DEPTH


@pytest.mark.parametrize("raw", [b"[" * 10_000 + b"1", b"[" * 10_000 + b"]", b"\xff" + b"[" * 10])
def test_decode_pruned_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        decode_pruned(raw)
