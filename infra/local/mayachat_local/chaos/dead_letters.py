"""The dead-letter topic: how many records it holds (the nemesis watches it grow while MongoDB
is down) and, after a run, which messages landed there and why (the checker's evidence).

Two writers put records there: the persist function (its value is the original record, the
reason in a `reason` header) and the event-source mapping's on-failure destination (its value
is Lambda's invocation record: `requestContext.condition`, the record itself in `payload`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from mayachat.kafka_config import consumer_config
from mayachat.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None  # None: a receipt, or not decodable
    reason: str


def _consumer(settings: Settings) -> Consumer:
    conf = consumer_config(settings, f"chaos-probe-{uuid.uuid4().hex[:8]}")
    return Consumer({**conf, "enable.partition.eof": True, "socket.timeout.ms": 5000})


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=5).topics.get(topic)
    return sorted(metadata.partitions) if metadata is not None else []


def ends(settings: Settings) -> dict[int, int]:
    """The dead-letter topic's end offset per partition, now."""
    topic = settings.kafka_topic_dead_letter
    consumer = _consumer(settings)
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            for p in _partitions(consumer, topic)
        }
    finally:
        consumer.close()


def read(
    settings: Settings, since: dict[int, int] | None = None, timeout: float = 20.0
) -> list[DeadLetter]:
    """The records on the dead-letter topic (after the offsets `since`), decoded."""
    topic = settings.kafka_topic_dead_letter
    starts = since or {}
    consumer = _consumer(settings)
    letters: list[DeadLetter] = []
    try:
        partitions = _partitions(consumer, topic)
        end = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            for p in partitions
        }
        waiting = {p for p in partitions if end[p] > starts.get(p, 0)}
        consumer.assign([TopicPartition(topic, p, starts.get(p, 0)) for p in waiting])
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            p = msg.partition() or 0
            if msg.error() is None:
                letters += decode(dict(msg.headers() or []), msg.value() or b"")
            if msg.error() is not None or (msg.offset() or 0) + 1 >= end.get(p, 0):
                waiting.discard(p)
        return letters
    finally:
        consumer.close()


def decode(headers: dict[str, Any], value: bytes) -> list[DeadLetter]:
    reason = headers.get("reason")
    if reason is not None:  # the persist function's: the original record's bytes
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return [DeadLetter(_message_id(value), f"persist: {_short(text)}")]
    try:
        record = json.loads(value)
        condition = str(record["requestContext"]["condition"])
        batches = record["payload"]["records"].values()
    except (ValueError, KeyError, TypeError, AttributeError):
        return [DeadLetter(None, "undecodable dead letter")]
    return [
        DeadLetter(_message_id(base64.b64decode(r.get("value", ""))), f"mapping: {condition}")
        for records in batches
        for r in records
    ]


def summary(letters: list[DeadLetter]) -> str:
    counts = Counter(letter.reason for letter in letters)
    return ", ".join(f"{reason}: {n}" for reason, n in counts.most_common()) or "none"


def _message_id(value: bytes) -> str | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    mid = data.get("messageId") if isinstance(data, dict) else None
    return str(mid) if mid else None


def _short(reason: str) -> str:
    """The reason without its ids (seq 1234 of room x -> seq N of room R), for counting."""
    words = reason.split()
    if "seq" in words and "room" in words:
        return "seq already belongs to another message"
    return reason[:80]
