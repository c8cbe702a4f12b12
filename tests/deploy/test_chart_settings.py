"""The chart's manifests agree with the code that reads them.

Every FANOUT_* variable a manifest sets is a field of that process's settings classes;
with the manifest's environment (secrets filled in) each service's settings load in
production and check their secrets, on the port the Deployment opens; every secret comes
from the Secret, never as a literal, and each service gets the secrets it requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.settings import CommonSettings, env_name
from tests.deploy.chart import (
    VARIANTS,
    Manifest,
    Variant,
    containers,
    literal_env,
    secret_env,
    service_module,
)
from tests.deploy.settings_env import (
    COMMON_VARIABLES,
    load_service_settings,
    secret_variables,
    settings_class,
    variables,
)

pytestmark = pytest.mark.timeout(1800)  # a fresh machine builds helm on the first render
# secrets a service uses without requiring them at start: the sender's simulator key, for
# campaigns sent through the simulator (the same exception as the compose file's)
ALSO_USED = {"sender": {"FANOUT_SIMULATOR_API_KEY"}}


def _processes(variant: Variant) -> Iterator[tuple[str, Manifest, Manifest]]:
    for workload, container in containers(variant.render()):
        yield workload["metadata"]["name"], workload, container


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_chart_sets_only_variables_the_settings_read(variant: Variant) -> None:
    for name, _, container in _processes(variant):
        module = service_module(container)
        known = variables(settings_class(module)) if module else COMMON_VARIABLES
        given = [e["name"] for e in container["env"]]
        unknown = sorted(set(given) - set(known))
        assert unknown == [], f"{variant.name}: {name} sets variables nothing reads: {unknown}"
        assert len(given) == len(set(given)), f"{name} sets a variable twice"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_chart_services_load_their_settings_in_production(
    variant: Variant, clean_environment: pytest.MonkeyPatch
) -> None:
    for name, _, container in _processes(variant):
        with clean_environment.context() as env:
            settings = load_service_settings(container, env)
            if settings is None:
                CommonSettings()  # a Job: the common settings must parse
                continue
        assert settings.common.environment == "production"
        assert settings.host == "0.0.0.0", f"{name} must listen beyond loopback"
        (port,) = container["ports"]
        assert settings.port == port["containerPort"]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_chart_takes_every_secret_from_the_secret(variant: Variant) -> None:
    for name, _, container in _processes(variant):
        module = service_module(container)
        cls: Any = settings_class(module) if module else CommonSettings
        literal = set(literal_env(container)) & secret_variables(cls)
        assert literal == set(), f"{name} gives secrets as literal values: {sorted(literal)}"
        for reference in secret_env(container).values():
            assert reference["name"] == "fanout-secrets"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_chart_gives_each_service_the_secrets_it_needs_and_no_other(
    variant: Variant, clean_environment: pytest.MonkeyPatch
) -> None:
    for name, _, container in _processes(variant):
        module = service_module(container)
        with clean_environment.context() as env:
            settings = load_service_settings(container, env)
        if settings is None or module is None:
            continue
        given = set(secret_env(container)) - {"FANOUT_DATABASE_URL", "FANOUT_CLICKHOUSE_URL"}
        required = {env_name(CommonSettings, s) for s in settings.required_secrets()}
        assert required <= given, f"{variant.name}: {name} lacks {sorted(required - given)}"
        extra = given - required - ALSO_USED.get(module, set())
        assert extra == set(), f"{variant.name}: {name} gets secrets it does not use: {extra}"


def test_secret_keys_follow_the_variable_names() -> None:
    (defaults, *_) = VARIANTS
    for _, _, container in _processes(defaults):
        for var, reference in secret_env(container).items():
            expected = var.removeprefix("FANOUT_").lower().replace("_", "-")
            assert reference["key"] == expected
