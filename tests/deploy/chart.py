"""Rendering the Helm chart (deploy/helm/fanout) the way `helm install` would, for the tests.

The `helm` binary is built once by deploy/helm/install-helm.sh (which `make install`
runs); when it is missing the first render builds it, so these tests need nothing
installed by hand.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "fanout"
VALUES = REPO / "deploy" / "helm" / "values"
INSTALL_HELM = REPO / "deploy" / "helm" / "install-helm.sh"
KUBE_VERSION = "1.30.0"  # what `Capabilities` says while rendering; schemas are checked apart

Manifest = dict[str, Any]


class RenderRefused(Exception):
    """`helm template` stopped: a value the chart refuses (its message says which)."""


@cache
def helm_binary() -> str:
    """The path of the helm CLI, built first if needed."""
    done = subprocess.run(
        [str(INSTALL_HELM)], capture_output=True, text=True, check=False, timeout=1500
    )
    if done.returncode != 0:
        raise RuntimeError(f"{INSTALL_HELM.name} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


@cache
def _render(values: tuple[str, ...], sets: tuple[str, ...]) -> tuple[Manifest, ...]:
    argv = [helm_binary(), "template", "fanout", str(CHART), "--kube-version", KUBE_VERSION]
    for name in values:
        argv += ["--values", str(VALUES / name)]
    for assignment in sets:
        argv += ["--set", assignment]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RenderRefused(done.stderr.strip())
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def render(*values: str, sets: tuple[str, ...] = ()) -> list[Manifest]:
    """The manifests of the chart with the values files of deploy/helm/values (in order)
    and `--set` assignments."""
    return list(_render(values, sets))


@dataclass(frozen=True)
class Variant:
    """One way the chart is installed, as the tests render it."""

    name: str
    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()

    def render(self) -> list[Manifest]:
        return render(*self.values, sets=self.sets)


VARIANTS = (
    Variant("defaults"),
    Variant("cluster", ("cluster.yaml",)),
    Variant("staging", ("cluster.yaml", "staging.yaml")),
    Variant("prefixed", sets=("topicPrefix=prod.",)),
)


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    """The manifests of one kind, by name."""
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """Every (workload, container) of the Deployments and Jobs."""
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "Job"):
            for container in manifest["spec"]["template"]["spec"]["containers"]:
                yield manifest, container


def service_module(container: Manifest) -> str | None:
    """`sender` for a container running `python -m services.sender`, else None."""
    command: list[str] = container["command"]
    if command[:2] == ["python", "-m"] and command[2].startswith("services."):
        module = command[2].split(".")
        return module[1] if len(module) == 2 else None
    return None


def literal_env(container: Manifest) -> dict[str, str]:
    """The variables a container is given as literal values."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def secret_env(container: Manifest) -> dict[str, Manifest]:
    """The variables a container reads from a Secret, with their reference."""
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def load_yaml(path: Path) -> Any:
    """A YAML file of the repository."""
    return yaml.safe_load(path.read_text())
