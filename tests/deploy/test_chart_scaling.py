"""How the chart scales each stage, checked against the code's topics, groups and settings.

KEDA watches the consumer group and topic each service really uses (built from the
Deployment's own environment), no group scales past its topic's partitions, the embedded
report_sink stays a single process, and every pod gets the time to drain on SIGTERM.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.sender.config import Settings as SenderSettings
from shared.service.serve import WORKER_GRACE_S
from shared.topics import TOPIC_SPECS, topic_name
from tests.deploy.chart import (
    CHART,
    VALUES,
    VARIANTS,
    Manifest,
    RenderRefused,
    Variant,
    load_yaml,
    of_kind,
    render,
)
from tests.deploy.settings_env import load_service_settings

pytestmark = pytest.mark.timeout(1800)  # a fresh machine builds helm on the first render
PARTITIONS = {spec.topic.value: spec.partitions for spec in TOPIC_SPECS}
CONSUMED = {consumer: spec.topic for spec in TOPIC_SPECS for consumer in spec.usage.consumers}
PRE_STOP_MARGIN_S = 10  # committing, flushing the producer, closing pools after the drain


def _container(deployment: Manifest) -> Manifest:
    containers: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = containers
    return container


def _module(deployment: Manifest) -> str:
    module: str = _container(deployment)["command"][2].removeprefix("services.")
    return module


def _settings(deployment: Manifest, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as env:
        return load_service_settings(_container(deployment), env)


@pytest.mark.parametrize("values", ["fanout/values.yaml", "values/cluster.yaml"])
def test_chart_partitions_match_the_topic_registry(values: str) -> None:
    assert load_yaml(VALUES.parent / values)["kafka"]["partitions"] == PARTITIONS
    assert (CHART / "values.yaml").exists()


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_scaled_objects_watch_the_group_and_topic_the_service_consumes(
    variant: Variant, clean_environment: pytest.MonkeyPatch
) -> None:
    manifests = variant.render()
    deployments = of_kind(manifests, "Deployment")
    scaled = of_kind(manifests, "ScaledObject")
    consumers = {"sender", "lead_resolver", "notifier", "guard"}
    assert {_module(deployments[name]) for name in scaled} == consumers
    for name, scaled_object in scaled.items():
        deployment = deployments[scaled_object["spec"]["scaleTargetRef"]["name"]]
        settings = _settings(deployment, clean_environment)
        topic = CONSUMED[_module(deployment)]
        (kafka,) = [
            t["metadata"] for t in scaled_object["spec"]["triggers"] if t["type"] == "kafka"
        ]
        assert kafka["consumerGroup"] == settings.consumer_group, name
        assert kafka["topic"] == topic_name(topic, settings.common.topic_prefix), name
        assert kafka["bootstrapServers"] == settings.common.kafka_bootstrap_servers
        assert scaled_object["spec"]["maxReplicaCount"] <= PARTITIONS[topic.value], name


def test_prefixed_deployment_scales_on_prefixed_names() -> None:
    (prefixed,) = [v for v in VARIANTS if v.name == "prefixed"]
    triggers = [
        s["spec"]["triggers"][0]["metadata"]
        for s in of_kind(prefixed.render(), "ScaledObject").values()
    ]
    topics = {"prod.email.sends", "prod.campaign.launches", "prod.email.events"}
    assert {t["topic"] for t in triggers} == topics
    assert {t["consumerGroup"] for t in triggers} == {
        "prod.fanout-sender",
        "prod.fanout-lead-resolver",
        "prod.fanout-notifier",
        "prod.fanout-guard",
    }


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_http_apis_scale_on_cpu_within_their_partitions(variant: Variant) -> None:
    manifests = variant.render()
    deployments = of_kind(manifests, "Deployment")
    scaled_modules = set()
    for hpa in of_kind(manifests, "HorizontalPodAutoscaler").values():
        module = _module(deployments[hpa["spec"]["scaleTargetRef"]["name"]])
        scaled_modules.add(module)
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        if module in CONSUMED:
            assert hpa["spec"]["maxReplicas"] <= PARTITIONS[CONSUMED[module].value]
    # webhook_ingest consumes no topic: no lag to scale on, so it scales on CPU
    assert "webhook_ingest" not in CONSUMED
    assert {"campaign_api", "webhook_ingest"} <= scaled_modules
    assert ("report_sink" in scaled_modules) == (variant.values != ())


def test_sender_lag_threshold_lets_one_campaign_scale_out(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    """Lag on email.sends is at most lead_resolver's window per campaign: a threshold at or
    above it would keep a single campaign on one sender whatever its size."""
    manifests = render()
    deployments = {_module(d): d for d in of_kind(manifests, "Deployment").values()}
    window = _settings(deployments["lead_resolver"], clean_environment).window
    (sender,) = [
        s for s in of_kind(manifests, "ScaledObject").values() if "sender" in s["metadata"]["name"]
    ]
    threshold = int(sender["spec"]["triggers"][0]["metadata"]["lagThreshold"])
    assert window // threshold >= 2


def test_embedded_report_sink_is_one_process_on_its_volume(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    manifests = render()
    deployments = {_module(d): d for d in of_kind(manifests, "Deployment").values()}
    sink = deployments["report_sink"]
    assert sink["spec"]["replicas"] == 1
    assert sink["spec"]["strategy"] == {"type": "Recreate"}
    targets = [
        m["spec"]["scaleTargetRef"]["name"]
        for m in manifests
        if m["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    assert sink["metadata"]["name"] not in targets
    settings = _settings(sink, clean_environment)
    mounts = {m["mountPath"]: m["name"] for m in _container(sink)["volumeMounts"]}
    volumes = {v["name"]: v for v in sink["spec"]["template"]["spec"]["volumes"]}
    (data_mount,) = [p for p in mounts if settings.common.chdb_path.is_relative_to(p)]
    claim = volumes[mounts[data_mount]]["persistentVolumeClaim"]["claimName"]
    assert claim in of_kind(manifests, "PersistentVolumeClaim")


@pytest.mark.parametrize(
    "assignment",
    [
        "services.report_sink.replicas=2",
        "services.report_sink.autoscaling.hpa.enabled=true",
    ],
)
def test_chart_refuses_to_scale_the_embedded_report_sink(assignment: str) -> None:
    with pytest.raises(RenderRefused, match="chDB allows one process"):
        render(sets=(assignment,))


def test_chart_refuses_more_instances_than_partitions() -> None:
    with pytest.raises(RenderRefused, match="exceeds the 12 partitions of email.sends"):
        render(sets=("services.sender.autoscaling.keda.maxReplicas=13",))
    with pytest.raises(RenderRefused, match="exceeds the 12 partitions of email.events"):
        render("cluster.yaml", sets=("services.report_sink.autoscaling.hpa.maxReplicas=20",))


def _pre_stop_s(container: Manifest) -> int:
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    return int(command[1]) if command else 0


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_pods_get_the_time_to_drain(
    variant: Variant, clean_environment: pytest.MonkeyPatch
) -> None:
    for deployment in of_kind(variant.render(), "Deployment").values():
        container = _container(deployment)
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        drain: float = WORKER_GRACE_S
        if _module(deployment) == "sender":
            sender: SenderSettings = _settings(deployment, clean_environment)
            # the longest of: the runner's wait for in-flight batches, one ESP call, the
            # process's wait for its workers; then the last progress flush
            drain = max(sender.revoke_wait_s, sender.provider_timeout_s, WORKER_GRACE_S)
            drain += sender.flush_interval_s
        needed = _pre_stop_s(container) + drain + PRE_STOP_MARGIN_S
        assert grace >= needed, f"{deployment['metadata']['name']}: {grace} s < {needed} s"


def test_embedded_chdb_fits_in_report_sinks_memory_limit(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    (sink,) = [d for d in of_kind(render(), "Deployment").values() if _module(d) == "report_sink"]
    limit = _container(sink)["resources"]["limits"]["memory"]
    assert limit.endswith("Gi")
    headroom = 256 * 1024**2  # the Python process around chDB (its RSS without inserts)
    chdb_cap = _settings(sink, clean_environment).chdb_max_memory_bytes
    assert chdb_cap + headroom <= int(limit.removesuffix("Gi")) * 1024**3


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_disruption_budgets_cover_every_service_and_never_block_a_drain(variant: Variant) -> None:
    manifests = variant.render()
    budgets = of_kind(manifests, "PodDisruptionBudget")
    for name, deployment in of_kind(manifests, "Deployment").items():
        budget = budgets[name]["spec"]
        assert budget["selector"] == deployment["spec"]["selector"]
        assert budget.get("maxUnavailable", 0) >= 1 or budget["minAvailable"] < deployment[
            "spec"
        ].get("replicas", 2)
        resources = _container(deployment)["resources"]
        assert set(resources) == {"requests", "limits"}, f"{name} needs requests and limits"
