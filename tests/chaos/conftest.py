"""The fault tests' stack: one private stack for the module, paced for their campaigns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fanout_cli.chaos.sender import pacing_env
from shared.settings import CommonSettings
from tests.chaos.private_stack import private_stack

LEADS = 3_000  # enough for a sender kill to land while webhooks flow and batches are in flight
SEND_RATE = 200.0  # emails/s: a campaign lasts about 15 s


# the longest backoff between a batch's retries (default 30 s): under the throttling
# scenario's refusals a batch's retries, doubling from 0.2 s, otherwise reach 25 s and more
# and the campaign's last batches wait for them
RETRY_MAX_S = "2"


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator[CommonSettings]:
    """A whole stack of the module's own (stopped and wiped after), the sender paced."""
    env = {**pacing_env(SEND_RATE), "FANOUT_SENDER_RETRY_MAX_S": RETRY_MAX_S}
    with private_stack(env) as common:
        yield common
