"""Which webhook URLs may be called: https only and no private addresses (SSRF), unless
the deployment allows private destinations (local stacks and tests by default)."""

from __future__ import annotations

import pytest

from shared.outbound.destinations import DestinationRefused, allows_private, check_url
from shared.settings import CommonSettings


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # public, but not https
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/hook",
        "https://[::ffff:192.168.0.1]/hook",  # an IPv4 private address, IPv6-mapped
        "https://localhost/hook",  # a name resolving to loopback
        "https://user:pw@93.184.216.34/hook",
    ],
)
async def test_refused_without_private_destinations(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await check_url(url, allow_private=False)


async def test_a_public_https_address_is_allowed() -> None:
    assert await check_url("https://93.184.216.34/hook", allow_private=False)


async def test_local_stacks_allow_loopback_over_http() -> None:
    assert await check_url("http://127.0.0.1:9000/hook", allow_private=True)


def test_the_setting_overrides_the_environment() -> None:
    assert not allows_private(CommonSettings(environment="production"))
    assert allows_private(CommonSettings(environment="development"))
    assert not allows_private(
        CommonSettings(environment="development", webhook_private_destinations=False)
    )
    assert allows_private(
        CommonSettings(environment="production", webhook_private_destinations=True)
    )
