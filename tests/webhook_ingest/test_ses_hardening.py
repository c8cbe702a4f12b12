"""SES/SNS against forgeries: the topic before any fetch, cached certificates and failures,
bounded concurrent fetches with a timeout, and a freshness window on the SNS Timestamp."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from services.webhook_ingest.providers.base import ProviderUnavailable, Unauthorized
from services.webhook_ingest.providers.sns import require_fresh
from services.webhook_ingest.providers.sns_certificates import CertificateStore
from shared.settings import CommonSettings
from tests.webhook_ingest.conftest import Ids, Ingest, running, service_settings
from tests.webhook_ingest.keys import CERT_URL, TestKeys, sign_sns
from tests.webhook_ingest.ses_messages import notification, post, sns_time

OTHER_TOPIC = "arn:aws:sns:us-west-2:999999999999:someone-else"


def _forged_cert_url(n: int) -> str:
    """A certificate URL shaped like Amazon's that Amazon does not serve."""
    return f"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-forged{n}.pem"


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_ses_webhook_topic_checked_before_certificate_fetch(
    ingest: Ingest, ids: Ids
) -> None:
    message = sign_sns(
        notification("event-bounce", ids, TopicArn=OTHER_TOPIC), ingest.keys.other_key
    )
    assert await post(ingest, message) == 403
    assert ingest.fetched == []


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_ses_webhook_failed_certificate_fetch_cached(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys, ids: Ids
) -> None:
    fetches: list[str] = []

    async def unavailable(url: str) -> bytes:
        fetches.append(url)
        raise ProviderUnavailable("SNS certificate fetch answered 503")

    async with running(service_settings(settings, keys), pool, keys, unavailable) as ingest:
        message = notification("event-bounce", ids, SigningCertURL=_forged_cert_url(1))
        forged = sign_sns(message, keys.other_key) | {"SigningCertURL": _forged_cert_url(1)}
        assert [await post(ingest, forged) for _ in range(3)] == [503, 503, 503]
    assert fetches == [_forged_cert_url(1)]


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_ses_webhook_certificate_fetched_once_then_cached(
    ingest: Ingest, ids: Ids
) -> None:
    for _ in range(3):
        message = sign_sns(notification("event-delivery", ids), ingest.keys.sns_key)
        assert await post(ingest, message) == 200
    assert ingest.fetched == [CERT_URL]


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_ses_webhook_concurrent_certificate_fetches_bounded(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys, ids: Ids
) -> None:
    active = 0
    most = 0

    async def slow_failure(url: str) -> bytes:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.sleep(0.05)
            raise ProviderUnavailable("SNS certificate fetch answered 503")
        finally:
            active -= 1

    service = service_settings(settings, keys, sns_max_concurrent_fetches=1)
    async with running(service, pool, keys, slow_failure) as ingest:
        forged = [
            sign_sns(notification("event-bounce", ids), keys.other_key)
            | {"SigningCertURL": _forged_cert_url(n)}
            for n in range(4)
        ]
        codes = await asyncio.gather(*(post(ingest, message) for message in forged))
    assert codes == [503] * 4
    assert most == 1


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_ses_webhook_hanging_certificate_fetch_times_out(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys, ids: Ids
) -> None:
    never = asyncio.Event()
    fetches = 0

    async def hanging(url: str) -> bytes:
        nonlocal fetches
        fetches += 1
        await never.wait()
        return b""

    service = service_settings(settings, keys, sns_fetch_timeout_s=0.1)
    async with running(service, pool, keys, hanging) as ingest:
        forged = sign_sns(notification("event-bounce", ids), keys.other_key)
        answers = [await asyncio.wait_for(post(ingest, forged), 10) for _ in range(2)]
    assert answers == [503, 503]
    assert fetches == 1  # the timed-out fetch is remembered as a failure


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(hours=2), 401),
        (timedelta(hours=1, minutes=5), 401),
        (timedelta(minutes=-10), 401),
        (timedelta(minutes=50), 200),
        (timedelta(minutes=-1), 200),
    ],
    ids=["two-hours-old", "just-over-an-hour", "ten-minutes-ahead", "retry-within-hour", "skew"],
)
async def test_post_ses_webhook_timestamp_window(
    ingest: Ingest, ids: Ids, age: timedelta, expected: int
) -> None:
    message = notification("event-delivery", ids, Timestamp=sns_time(age))
    assert await post(ingest, sign_sns(message, ingest.keys.sns_key)) == expected
    if expected == 401:
        assert ingest.fetched == []  # refused before any certificate fetch
        assert await ingest.records_on_topic() == 0


NOW = 1_800_000_000.0  # a pinned clock: 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [
        ("2027-01-15T08:00:00.000Z", True),
        ("2027-01-15T07:00:00.000Z", True),  # exactly the hour SNS may retry for
        ("2027-01-15T06:59:59.999Z", False),
        ("2027-01-15T08:05:00.000Z", True),  # clock skew within the tolerance
        ("2027-01-15T08:05:00.001Z", False),
        ("yesterday", False),
        (None, False),
    ],
)
def test_sns_timestamp_window_with_pinned_clock(timestamp: str | None, fresh: bool) -> None:
    message = {"Timestamp": timestamp}
    if fresh:
        require_fresh(message, max_age_s=3600, skew_s=300, now=NOW)
    else:
        with pytest.raises(Unauthorized):
            require_fresh(message, max_age_s=3600, skew_s=300, now=NOW)


async def test_certificate_store_refetches_after_ttl_with_pinned_clock(keys: TestKeys) -> None:
    now = [100.0]
    fetches: list[str] = []

    async def fetch(url: str) -> bytes:
        fetches.append(url)
        if len(fetches) == 2:
            raise ProviderUnavailable("SNS certificate fetch answered 503")
        return keys.sns_cert_pem

    store = CertificateStore(fetch, ttl_s=3600, failure_ttl_s=60, clock=lambda: now[0])
    await store.public_key(CERT_URL)
    now[0] += 3599
    await store.public_key(CERT_URL)
    assert len(fetches) == 1
    now[0] += 2  # the key expired: fetched again, and this fetch fails
    with pytest.raises(ProviderUnavailable):
        await store.public_key(CERT_URL)
    now[0] += 59
    with pytest.raises(ProviderUnavailable):  # the failure is remembered, not retried
        await store.public_key(CERT_URL)
    assert len(fetches) == 2
    now[0] += 2
    await store.public_key(CERT_URL)
    assert len(fetches) == 3
