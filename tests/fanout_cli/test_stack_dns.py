"""The stacks point campaign_api's domain verification at the ESP simulator's DNS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout_cli.stack.components import (
    SIMULATOR_DNS_PORT,
    SIMULATOR_SMTP_PORT_VARIABLE,
    STACK_SMTP_PORT_VARIABLE,
    service_named,
)
from fanout_cli.stack.esp_dialects import SMTP_PORT
from fanout_cli.testrun.stack import SuiteStack
from services.campaign_api.domains.settings import DomainSettings
from services.esp_simulator.config import Settings as SimulatorSettings
from shared.settings import CommonSettings

DNS_VARIABLES = (
    "FANOUT_ESP_SIMULATOR_DNS_PORT",
    "FANOUT_CAMPAIGN_API_DNS_NAMESERVERS",
    "FANOUT_CAMPAIGN_API_DNS_NAMESERVER_PORT",
)


def _resolver_of(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> DomainSettings:
    """campaign_api's domain settings as read from `env`."""
    for name in DNS_VARIABLES:
        monkeypatch.setenv(name, env[name])
    return DomainSettings()


@pytest.mark.parametrize("override", [None, "24680"])
def test_local_stack_campaign_api_asks_the_simulators_dns_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, override: str | None
) -> None:
    for name in DNS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if override is not None:
        monkeypatch.setenv("FANOUT_ESP_SIMULATOR_DNS_PORT", override)
    common = CommonSettings(home=tmp_path)
    simulator = service_named("esp_simulator").env(common)
    api = service_named("campaign_api").env(common)
    port = int(override or SIMULATOR_DNS_PORT)
    assert int(simulator["FANOUT_ESP_SIMULATOR_DNS_PORT"]) == port
    resolver = _resolver_of(api, monkeypatch)
    assert ([str(ip) for ip in resolver.dns_nameservers], resolver.dns_nameserver_port) == (
        ["127.0.0.1"],
        port,
    )
    assert api["FANOUT_DKIM_KEY_SECRET"]  # generated with the stack's other secrets


def test_default_dns_port_is_the_simulators() -> None:
    assert SimulatorSettings.model_fields["dns_port"].default == SIMULATOR_DNS_PORT


def test_test_stack_gives_the_dns_server_a_port_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = SuiteStack.allocate(tmp_path)
    variables = stack.variables()
    assert stack.dns_port not in (0, SIMULATOR_DNS_PORT, *stack.service_ports.values())
    assert variables["FANOUT_ESP_SIMULATOR_DNS_PORT"] == str(stack.dns_port)
    assert _resolver_of(variables, monkeypatch).dns_nameserver_port == stack.dns_port


@pytest.mark.parametrize("own_port", [False, True])
def test_simulator_smtp_port_is_the_stacks_own_and_the_sender_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_port: bool
) -> None:
    """A test or chaos stack beside the demo's gives the simulator's SMTP server a port of
    its own (two simulators on the default one: the second cannot start)."""
    for name in (
        SIMULATOR_SMTP_PORT_VARIABLE,
        STACK_SMTP_PORT_VARIABLE,
        "FANOUT_SENDER_SMTP__PORT",
    ):
        monkeypatch.delenv(name, raising=False)  # the suite's own stack sets one
    stack = SuiteStack.allocate(tmp_path)
    assert stack.smtp_port not in (0, SMTP_PORT, stack.dns_port, *stack.service_ports.values())
    # not the simulator's own variable: the suite's in-process simulators would all serve
    # SMTP on that port
    assert SIMULATOR_SMTP_PORT_VARIABLE not in stack.variables()
    if own_port:
        for name, value in stack.variables().items():
            monkeypatch.setenv(name, value)
    common = CommonSettings(home=tmp_path)
    simulator = service_named("esp_simulator").env(common)
    sender = service_named("sender").env(common)
    port = str(stack.smtp_port) if own_port else str(SMTP_PORT)
    assert simulator[SIMULATOR_SMTP_PORT_VARIABLE] == port
    assert sender["FANOUT_SENDER_SMTP__PORT"] == port
