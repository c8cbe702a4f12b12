"""One consumer runtime: exactly one module of the services' code builds an AIOKafkaConsumer.

An AST scan (imports and aliases included), so a second consumer runtime cannot
creep back in; tests and benchmarks read topics with consumers of their own.
"""

from __future__ import annotations

import ast

from tests.architecture.sources import ROOT, parse, python_files


def _constructs_consumer(tree: ast.AST) -> bool:
    """True when the module calls AIOKafkaConsumer (by any name it was imported as)."""
    names = {"AIOKafkaConsumer"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiokafka"):
            names |= {a.asname or a.name for a in node.names if a.name == "AIOKafkaConsumer"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in names:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "AIOKafkaConsumer":
            return True
    return False


def test_one_module_constructs_the_kafka_consumer() -> None:
    builders = [
        str(path.relative_to(ROOT))
        for path in python_files("shared", "services")
        if _constructs_consumer(parse(path))
    ]
    assert builders == ["shared/kafka/consumer.py"]


def test_scan_finds_aliased_and_qualified_constructions() -> None:
    aliased = "from aiokafka import AIOKafkaConsumer as C\nc = C(group_id='g')\n"
    qualified = "import aiokafka\nc = aiokafka.AIOKafkaConsumer()\n"
    typed_only = "from aiokafka import AIOKafkaConsumer\nc: AIOKafkaConsumer | None = None\n"
    assert _constructs_consumer(ast.parse(aliased))
    assert _constructs_consumer(ast.parse(qualified))
    assert not _constructs_consumer(ast.parse(typed_only))
