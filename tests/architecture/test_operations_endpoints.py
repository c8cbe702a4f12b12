"""One home for the operations endpoints: only shared/service/health.py serves /readyz and
/metrics (behind the operations token), and every service includes it.

A second, unguarded copy of either route in a service would put readiness errors or
metrics on a public port again.
"""

from __future__ import annotations

from pathlib import Path

from tests.architecture.sources import ROOT, parse, python_files, string_literals

HOME = "shared/service/health.py"
BUILDERS = ("health_router(", "operations_app(")


def test_only_the_health_module_names_the_operations_routes() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files("shared", "services")
        for line, text in string_literals(parse(path))
        if text in ("/readyz", "/metrics") and str(path.relative_to(ROOT)) != HOME
    ]
    assert found == []


def test_every_service_includes_the_guarded_operations_routes() -> None:
    services = sorted(p for p in (ROOT / "services").iterdir() if (p / "__main__.py").exists())
    assert len(services) == 8
    for service in services:
        text = "\n".join(Path(p).read_text() for p in python_files(str(service.relative_to(ROOT))))
        assert any(builder in text for builder in BUILDERS), service.name
        assert "ops_token=" in text, service.name
