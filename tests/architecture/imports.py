"""Which services a module imports: absolute, relative and dynamic imports, from its syntax tree."""

from __future__ import annotations

import ast
from collections.abc import Iterator

DYNAMIC = {"import_module", "__import__"}


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _dynamic(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in DYNAMIC or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imported_modules(tree: ast.AST, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in `tree`, the module `module` (resolved to absolute).

    `from a import b` yields both `a` and `a.b`, since `b` may be a module.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and (target := _dynamic(node)) is not None:
            yield node.lineno, target


def service_of(module: str) -> str | None:
    """`services.sender.accounting` → `sender`; None for anything outside a service."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else None
