"""The request log: what each bulk call asked for and how it was answered, per campaign.

Fault tests reconcile a campaign against the provider's own view of it: how
many of its emails were accepted for the first time or again (duplicates),
which outcomes were decided for them, and when each call started (a pause
must stop new calls within a second). A call's messages are grouped by the
campaign in their metadata, so one call makes one record per campaign it
carries (the sender's calls carry one). The log keeps the newest
`capacity` records and counts the ones it had to drop, so a reader can tell
a complete answer from a truncated one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from uuid import UUID

import msgspec

from services.esp_simulator.events import Email
from shared.simulator_status import MessageStatus

_STATUS_FIELDS = {
    MessageStatus.ACCEPTED: "accepted",
    MessageStatus.THROTTLED: "throttled",
    MessageStatus.TRANSIENT_ERROR: "transient",
    MessageStatus.REJECTED: "rejected",
}
_LOGGED_OUTCOMES = frozenset({"delivered", "bounced_hard", "bounced_soft", "complained"})


class CallRecord(msgspec.Struct, gc=False):
    """One campaign's part of one bulk call; counts filled in as its messages are answered.

    Kept by the hundred thousand (`RequestLog`), so nothing of it is for the cyclic
    collector to walk: a msgspec struct it does not track (a slotted dataclass was tracked,
    and so was the `UUID` each record held), the campaign's `UUID` one object shared by
    its records (`call_records`). As tracked objects, 20,000 records and their ids per
    million emails made every full collection of the simulator longer: 6–15 ms after a
    300k run, every ten seconds, busy or idle (bench/results/20261205T2330Z-round29).
    """

    campaign_id: UUID
    started_at: float  # wall-clock seconds (Unix time) when the call arrived
    recipients: int = 0
    outcome: str = "ok"  # ok | throttled | unavailable | down
    accepted: int = 0  # accepted for the first time
    duplicates: int = 0  # accepted before: answered again, nothing sent
    throttled: int = 0
    transient: int = 0
    rejected: int = 0
    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0

    def count(self, status: MessageStatus) -> None:
        """One message answered `status` (a first acceptance when ACCEPTED)."""
        name = _STATUS_FIELDS[status]
        setattr(self, name, getattr(self, name) + 1)

    def count_outcome(self, name: str) -> None:
        """One outcome decided for an accepted message (opens and clicks are not logged)."""
        if name in _LOGGED_OUTCOMES:
            setattr(self, name, getattr(self, name) + 1)


def call_records(
    emails: Sequence[Email], started_at: float, campaign_ids: dict[str, UUID]
) -> dict[UUID | str, CallRecord]:
    """One empty record per campaign of the call, with its recipient count, by the campaign
    id as the emails carry it (a UUID or its canonical text). `campaign_ids`: the UUIDs of
    the campaigns seen so far by their text, so every record of a campaign holds the same
    object (`RequestLog.campaign_ids`)."""
    records: dict[UUID | str, CallRecord] = {}
    for email in emails:
        campaign = email.ids.campaign_id
        record = records.get(campaign)
        if record is None:
            campaign_id = (
                _campaign_uuid(campaign, campaign_ids) if isinstance(campaign, str) else campaign
            )
            record = records[campaign] = CallRecord(campaign_id, started_at)
        record.recipients += 1
    return records


CAMPAIGN_IDS_MAX = 10_000  # campaigns remembered by `call_records` before it starts over


def _campaign_uuid(text: str, known: dict[str, UUID]) -> UUID:
    campaign_id = known.get(text)
    if campaign_id is None:
        if len(known) >= CAMPAIGN_IDS_MAX:
            known.clear()
        campaign_id = known[text] = UUID(text)
    return campaign_id


class RequestLog:
    """The newest `capacity` call records (0 keeps none), oldest first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._records: deque[CallRecord] = deque(maxlen=capacity or None)
        self.recorded = 0
        self.campaign_ids: dict[str, UUID] = {}  # for `call_records`: one UUID per campaign

    @property
    def evicted(self) -> int:
        """Records dropped to stay within the capacity since start or the last clear."""
        return self.recorded - len(self._records)

    def add(self, record: CallRecord) -> None:
        """Keep `record` (dropping the oldest when full)."""
        self.recorded += 1
        if self.capacity:
            self._records.append(record)

    def select(
        self, campaign_id: UUID | None = None, since: float | None = None, limit: int | None = None
    ) -> list[CallRecord]:
        """Records of `campaign_id` (all if None) that started at or after `since`, oldest
        first; at most `limit` (the oldest ones)."""
        found: list[CallRecord] = []
        for record in self._records:
            if campaign_id is not None and record.campaign_id != campaign_id:
                continue
            if since is not None and record.started_at < since:
                continue
            found.append(record)
            if limit is not None and len(found) >= limit:
                break
        return found

    def clear(self) -> None:
        """Forget every record and the counts."""
        self._records.clear()
        self.recorded = 0
        self.campaign_ids.clear()
