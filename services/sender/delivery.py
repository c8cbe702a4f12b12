"""One batch's ESP calls: the first call, then retries for only the recipients that need them.

Throttling is the provider saying "later", not "no". Call-level throttling and
transient errors (`ProviderRetryable`: 429, 5xx, timeouts) and per-recipient
`RETRY` answers (throttled, transient) are retried with backoff and jitter,
never sooner than the provider's Retry-After, for as long as it takes up to the
policy's deadline (hours, `services.sender.backoff`); only then do the
recipients still pending fail, with the reason, and the batch is dead-lettered.
`REJECTED` fails a recipient at once. `ProviderStopped` (and refused
credentials) end the delivery with the pending recipients undecided: the
campaign is paused and they are parked for the resume. Recipients over their
receiving domain's rate leave the delivery as `deferred` (parked until that rate has
room for them: `services.sender.domain_rates`).

Before every call the gate says whether the campaign may still send
(`services.sender.esp_call`): a pause or cancel ends the delivery with the
pending recipients undecided (`halted_reason`). A repeated in-flight call
(`repeat_in_flight`) skips the gate until the provider answered it: it finishes
a call that started before a crash. While a batch sleeps before a retry it
counts as waiting on the provider (`services.sender.waiting`).
"""

from __future__ import annotations

from uuid import UUID

from tenacity import AsyncRetrying, retry_if_exception_type

from services.sender.backoff import failure_reason, retry_wait
from services.sender.esp_call import Attempts, Delivery, Halted, StillPending, call_once
from services.sender.providers.base import (
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from services.sender.waiting import Wait

__all__ = ["Attempts", "Delivery", "deliver"]


async def deliver(
    attempts: Attempts,
    request: SendRequest,
    *,
    repeat_in_flight: bool = False,
) -> Delivery:
    """Send `request`, retrying what needs it; every email ends sent, failed, deferred or
    undecided."""
    policy, provider, waits = attempts.policy, attempts.provider, attempts.waits
    result = Delivery()
    pending = {e.lead_id: e for e in request.emails}
    started, token = policy.clock(), object()
    try:
        # the first call outside tenacity's loop: nearly every batch needs no other
        failed = await _first_call(attempts, request, pending, result, repeat_in_flight)
        if failed:
            retry = _Retry(attempts, request, pending, result, repeat_in_flight)
            await retry.after(failed, started, token)
    except (ProviderRetryable, StillPending) as exc:
        waited = f"still asked to retry after {policy.hours_since(started):.1f} h"
        _fail_pending(result, pending, f"{waited}: {exc.reason}")
    except Halted as exc:
        result.halted_reason = str(exc)
        _undecided(result, pending)
    except ProviderStopped as exc:
        result.stopped_reason = f"{provider.name} stopped sending: {exc}"
        _undecided(result, pending)
    except ProviderRequestError as exc:
        if exc.status_code in (401, 403):
            result.stopped_reason = str(exc)
            _undecided(result, pending)
        else:
            _fail_pending(result, pending, str(exc))
    finally:
        waits.end(token)
    return result


async def _first_call(
    attempts: Attempts,
    request: SendRequest,
    pending: dict[UUID, OutgoingEmail],
    result: Delivery,
    repeat_in_flight: bool,
) -> list[ProviderRetryable | StillPending]:
    """The first call; what asked for a retry, if it did, in a list the retries empty (no
    frame keeps the error, whose traceback holds the frames that hold the request)."""
    try:
        await call_once(attempts, request, pending, result, gated=not repeat_in_flight)
    except (ProviderRetryable, StillPending) as exc:
        return [exc]
    return []


class _Retry:
    """The calls after a first call the provider asked to retry, in tenacity's loop.

    The loop is a reference cycle (it and its call state refer to each other) that only
    the garbage collector frees, which is why the first call is made outside it: with a
    loop per batch, the sender's timed collections found ~16,000 objects of such cycles a
    second and took ~24 ms each. Its hooks must not hold the request, or the emails of a
    retried batch would wait for the next collection (`shared.service.serve`).
    """

    def __init__(
        self,
        attempts: Attempts,
        request: SendRequest,
        pending: dict[UUID, OutgoingEmail],
        result: Delivery,
        repeat_in_flight: bool,
    ) -> None:
        self._attempts = attempts
        self._request = request
        self._pending = pending
        self._result = result
        self._repeat_in_flight = repeat_in_flight

    async def after(
        self, failed: list[ProviderRetryable | StillPending], started: float, token: object
    ) -> None:
        """Retry after the first call's failure (`failed`), replayed as tenacity's first
        attempt: the waits, the deadline and the provider's Retry-After apply as before."""
        attempts = self._attempts
        policy, provider, waits = attempts.policy, attempts.provider, attempts.waits
        campaign_id = self._request.campaign_id
        retrying = AsyncRetrying(
            stop=lambda _state: policy.expired(started),
            wait=retry_wait(policy, started),
            retry=retry_if_exception_type((ProviderRetryable, StillPending)),
            sleep=policy.sleep,
            before=lambda _state: waits.end(token),
            before_sleep=lambda state: waits.start(
                token, Wait(campaign_id, provider.name, failure_reason(state))
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if failed:
                    raise failed.pop()
                gated = self._result.answered or not self._repeat_in_flight
                await call_once(attempts, self._request, self._pending, self._result, gated=gated)


def _fail_pending(result: Delivery, pending: dict[UUID, OutgoingEmail], reason: str) -> None:
    if pending:
        result.exhausted_reason = reason
    for lead_id in pending:
        result.failed[lead_id] = reason
    pending.clear()


def _undecided(result: Delivery, pending: dict[UUID, OutgoingEmail]) -> None:
    result.undecided = list(pending.values())
    pending.clear()
