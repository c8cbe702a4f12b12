"""Which resolver instance owns a campaign: the one assigned its `campaign.launches` partition.

The partition is computed exactly as the producer's default partitioner does
(murmur2 of the key, the campaign id: `CampaignCommand.key()`), so the instance that receives a
campaign's commands is also the one that resumes it after a restart or a
rebalance, without storing the partition anywhere.
"""

from __future__ import annotations

from uuid import UUID

from aiokafka.partitioner import murmur2


def campaign_partition(campaign_id: UUID, partitions: int) -> int:
    """The `campaign.launches` partition of `campaign_id` among `partitions` partitions."""
    return int(murmur2(str(campaign_id).encode()) & 0x7FFFFFFF) % partitions
