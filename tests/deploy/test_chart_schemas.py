"""Every manifest the Helm chart renders is one the Kubernetes API server would accept.

Built-in kinds are checked against the Kubernetes JSON schemas (kubernetes-validate, strict:
an unknown field is an error, not silently dropped) for the oldest version the chart
supports and the newest bundled; KEDA's ScaledObject against KEDA's own CRD schema
(tests/deploy/data/keda, made strict the same way).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.chart import CHART, VARIANTS, Manifest, Variant, load_yaml

KEDA_CRD = Path(__file__).parent / "data" / "keda" / "keda.sh_scaledobjects.yaml"
CRD_KINDS = {"ScaledObject"}
pytestmark = pytest.mark.timeout(1800)  # a fresh machine builds helm on the first render


def _kube_versions() -> list[str]:
    floor = load_yaml(CHART / "Chart.yaml")["kubeVersion"].removeprefix(">=").split("-")[0]
    return [floor, kubernetes_validate.latest_version()]


def _strict(schema: Any) -> Any:
    """The schema with unknown properties refused wherever it lists the known ones."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        open_ended = "additionalProperties" in schema or schema.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        if "properties" in schema and not open_ended:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def _scaled_object_schema() -> Any:
    crd = load_yaml(KEDA_CRD)
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return _strict(served["schema"]["openAPIV3Schema"])


def _validate(manifest: Manifest, version: str) -> None:
    if manifest["kind"] in CRD_KINDS:
        assert manifest["apiVersion"] == "keda.sh/v1alpha1"
        jsonschema.validate(manifest, _scaled_object_schema())
    else:
        kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_chart_renders_only_valid_manifests(variant: Variant) -> None:
    manifests = variant.render()
    assert manifests, "the chart rendered nothing"
    for version in _kube_versions():
        for manifest in manifests:
            try:
                _validate(manifest, version)
            except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
                name = f"{manifest['kind']}/{manifest['metadata']['name']}"
                pytest.fail(f"{variant.name}: {name} is invalid for {version}: {exc.message}")


def test_keda_schema_refuses_a_broken_scaled_object() -> None:
    """The CRD check bites: a trigger metadata value that is not a string, and a typo."""
    (scaled,) = [m for m in VARIANTS[0].render() if m["kind"] == "ScaledObject"][:1]
    broken = {**scaled, "spec": {**scaled["spec"], "maxReplicaCout": 3}}
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken, _kube_versions()[0])
    trigger = {**scaled["spec"]["triggers"][0], "metadata": {"lagThreshold": 50}}
    unquoted = {**scaled, "spec": {**scaled["spec"], "triggers": [trigger]}}
    with pytest.raises(jsonschema.ValidationError):
        _validate(unquoted, _kube_versions()[0])


def test_every_kind_the_chart_renders_is_checked() -> None:
    kinds = {m["kind"] for v in VARIANTS for m in v.render()}
    expected = {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ScaledObject",
        "PersistentVolumeClaim",
        "Job",
    }
    assert kinds == expected
