"""The repository's Python sources as the architecture tests read them: files, modules, strings."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_files(*folders: str, root: Path = ROOT) -> Iterator[Path]:
    """Every .py file under `folders` (relative to `root`), in a stable order."""
    for folder in folders:
        yield from sorted((root / folder).rglob("*.py"))


def module_name(path: Path, root: Path = ROOT) -> str:
    """`services/sender/accounting.py` → `services.sender.accounting` (a package: its name)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parse(path: Path) -> ast.Module:
    """The file's syntax tree."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def string_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal; an f-string with `?` for each interpolation."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                str(part.value) if isinstance(part, ast.Constant) else "?" for part in node.values
            )
            yield node.lineno, text
