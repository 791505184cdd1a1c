"""What the services count and time: the metric catalogue and the port that records it.

In AWS each name is a CloudWatch metric in the MayaChat namespace (dimensions `service` and
`stage`), written as Embedded Metric Format by mayachat.adapters.emf_metrics; template.yaml's
alarms and dashboard read them, and docs/operations.md says what each means and what to do.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Count(StrEnum):
    MESSAGES_SENT = "MessagesSent"  # new messages acked (a resend answered again is not one)
    MESSAGES_CHANGED = "MessagesChanged"  # edits, deletions and reactions acked
    UNAVAILABLE = "Unavailable"  # frames answered `unavailable`: Kafka, Redis or MongoDB down
    DELIVERY_POSTS = "DeliveryPosts"  # @connections posts made
    DELIVERY_GONE = "DeliveryGone"  # posts to connections that had closed (410)
    DELIVERY_FAILED = "DeliveryFailed"  # posts that failed for good (403, 5xx after retries...)
    RATE_LIMITED = "RateLimited"  # frames refused by a rate limit
    FLOODS_CLOSED = "FloodsClosed"  # connections closed for ignoring retryAfterMs
    CONNECTS_REFUSED = "ConnectsRefused"  # handshakes refused (too many, or too fast)
    TOKENS_REFUSED = "TokensRefused"  # handshakes whose token was unacceptable (401)
    REST_RATE_LIMITED = "RestRateLimited"  # REST calls answered 429
    MESSAGES_PERSISTED = "MessagesPersisted"  # messages written to MongoDB now
    CHANGES_APPLIED = "ChangesApplied"  # edits, deletions and reactions applied in MongoDB
    DUPLICATES_SKIPPED = "DuplicatesSkipped"  # redelivered or resent messages already stored
    DEAD_LETTERED = "DeadLettered"  # records that can never be stored, set aside
    RECORDS_RETRIED = "RecordsRetried"  # records handed back to the mapping for redelivery
    PUSHES_SENT = "PushesSent"  # notifications handed to SNS for a device
    PUSHES_SKIPPED = "PushesSkipped"  # a redelivery's pushes that had been sent already
    DEVICES_PRUNED = "DevicesPruned"  # devices forgotten: their endpoint disabled or invalid
    PRESENCE_CHANGES = "PresenceChanges"  # users gone on- or offline, pushed to their contacts


class Timing(StrEnum):
    ACK_LATENCY = "AckLatency"  # sendMessage from the member check to the ack (ms)
    KAFKA_APPEND_LATENCY = "KafkaAppendLatency"  # the ack's wait for Kafka's acks=all (ms)
    STORED_LAG = "StoredLag"  # a message's ack to its write in MongoDB (ms)


class Metrics(Protocol):
    """Records measurements; the adapter publishes them when the invocation ends."""

    def count(self, metric: Count, value: int = 1) -> None: ...

    def timing(self, metric: Timing, milliseconds: float) -> None: ...
