"""Kafka records and the `aws:kafka` event Lambda's MSK event-source mapping sends.

The shape is AWS's (and validates against Powertools' `KafkaMskEventModel`): records grouped
under "topic-partition" keys in partition order, key and value base64, headers as a list of
one-entry objects whose value is the list of the header's byte values. A null key or value
(a tombstone) is left out of the record, as AWS does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Message

# Lambda's synchronous invocation payload quota.
PAYLOAD_LIMIT = 6 * 1024 * 1024
# What the event's fixed fields and each "topic-partition" key add, generously rounded up.
EVENT_OVERHEAD = 1024
PARTITION_OVERHEAD = 300
_CREATE_TIME, _LOG_APPEND_TIME = "CREATE_TIME", "LOG_APPEND_TIME"


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_type: str = _CREATE_TIME

    @classmethod
    def from_message(cls, msg: Message) -> KafkaRecord:
        kind, timestamp = msg.timestamp()
        return cls(
            topic=str(msg.topic()),
            partition=int(msg.partition() or 0),
            offset=int(msg.offset() or 0),
            timestamp=int(timestamp),
            key=msg.key(),
            value=msg.value(),
            headers=_headers(msg),
            timestamp_type=_LOG_APPEND_TIME if kind == TIMESTAMP_LOG_APPEND_TIME else _CREATE_TIME,
        )

    @property
    def partition_key(self) -> str:
        """The event's key for this record's partition, also its batchItemFailures id."""
        return f"{self.topic}-{self.partition}"

    @cached_property
    def as_event_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "timestampType": self.timestamp_type,
        }
        if self.key is not None:
            record["key"] = base64.b64encode(self.key).decode()
        if self.value is not None:
            record["value"] = base64.b64encode(self.value).decode()
        record["headers"] = [{name: list(value)} for name, value in self.headers]
        return record

    @cached_property
    def size(self) -> int:
        """Bytes this record adds to an event's JSON."""
        return len(json.dumps(self.as_event_record)) + 2


def _headers(msg: Message) -> tuple[tuple[str, bytes], ...]:
    # A consumed message carries a list of (name, bytes or None) pairs.
    pairs = msg.headers() or []
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return tuple(
        (str(name), value.encode() if isinstance(value, str) else bytes(value or b""))
        for name, value in items
    )


def build_event(
    records: Sequence[KafkaRecord], source_arn: str, bootstrap_servers: str
) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        grouped.setdefault(record.partition_key, []).append(record.as_event_record)
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": source_arn,
        "bootstrapServers": bootstrap_servers,
        "records": grouped,
    }


def payload_size(records: Sequence[KafkaRecord]) -> int:
    """An upper bound of the event's size in bytes, without building it."""
    partitions = {(r.topic, r.partition) for r in records}
    return EVENT_OVERHEAD + PARTITION_OVERHEAD * len(partitions) + sum(r.size for r in records)
