"""A service never imports another service: each runs, scales and fails on its own."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.imports import imported_modules, service_of
from tests.architecture.sources import module_name, parse, python_files


def cross_service_imports(root: Path) -> list[str]:
    """`path:line imports module` for each import from one service into another."""
    found = []
    for path in python_files("services", root=root):
        module = module_name(path, root)
        own = service_of(module)
        if own is None:
            continue
        package = path.name == "__init__.py"
        for line, target in imported_modules(parse(path), module, is_package=package):
            other = service_of(target)
            if other is not None and other != own:
                found.append(f"{path.relative_to(root)}:{line} imports {target}")
    return sorted(set(found))


def test_no_service_imports_another_service() -> None:
    assert cross_service_imports(Path(__file__).resolve().parents[2]) == []


def test_cross_service_import_check_flags_every_import_form(tmp_path: Path) -> None:
    planted = {
        "services/a/__init__.py": "from services.a import own\nfrom . import own_too\n",
        "services/a/plain.py": "import services.b.x\n",
        "services/a/deep/rel.py": "from ...b import y\nfrom ...c.z import w\nfrom ..own import v\n",
        "services/a/from_root.py": "from services import b\n",
        "services/a/dynamic.py": "import importlib\nimportlib.import_module('services.c')\n",
        "services/b/x.py": "from services.b import y\nfrom shared import z\n",
    }
    for name, source in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    assert cross_service_imports(tmp_path) == [
        "services/a/deep/rel.py:1 imports services.b",
        "services/a/deep/rel.py:1 imports services.b.y",
        "services/a/deep/rel.py:2 imports services.c.z",
        "services/a/deep/rel.py:2 imports services.c.z.w",
        "services/a/dynamic.py:2 imports services.c",
        "services/a/from_root.py:1 imports services.b",
        "services/a/plain.py:1 imports services.b.x",
    ]


def test_imported_modules_resolve_relative_imports_in_a_package() -> None:
    tree = ast.parse("from .x import y\nfrom .. import z\n")
    found = list(imported_modules(tree, "services.a.sub", is_package=True))
    assert found == [
        (1, "services.a.sub.x"),
        (1, "services.a.sub.x.y"),
        (2, "services.a"),
        (2, "services.a.z"),
    ]
