"""Helpers for the event-source mapping's integration tests: fresh topics and groups, producing
and reading records, and the mappings of tests/fixtures/esm running in a background thread."""

from __future__ import annotations

import contextlib
import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from mayachat.kafka_config import client_config, consumer_config, producer_config
from mayachat.settings import load_settings
from mayachat_local.esm import Backoff, LocalEventSourceMappings, run_in_thread

FIXTURES = Path(__file__).parents[1] / "fixtures" / "esm"
TEMPLATE = FIXTURES / "template.yaml"
# Quick retries: the tests are about what is retried, not how long it waits.
FAST = Backoff(initial=0.05, cap=0.2)
T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topics(*names: str, partitions: int = 1) -> None:
    admin = AdminClient(client_config(load_settings()))
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    )
    for future in futures.values():
        future.result(15)


@functools.cache
def _producer() -> Producer:
    return Producer(producer_config(load_settings()))


def produce(
    topic: str,
    values: Sequence[bytes | None],
    *,
    key: bytes | None = None,
    keys: Sequence[bytes | None] | None = None,
    partition: int | None = None,
    timestamp_ms: int | None = None,
    headers: Mapping[str, bytes] | None = None,
) -> list[tuple[int, int]]:
    """Produce and wait for the broker: where each record landed, (partition, offset)."""
    producer = _producer()
    placed: list[tuple[int, int]] = []

    def delivered(error: Any, msg: Message) -> None:
        assert error is None, error
        placed.append((msg.partition() or 0, msg.offset() or 0))

    for i, value in enumerate(values):
        extra: dict[str, Any] = {}
        if partition is not None:
            extra["partition"] = partition
        if timestamp_ms is not None:
            extra["timestamp"] = timestamp_ms
        producer.produce(
            topic,
            value=value,
            key=keys[i] if keys is not None else key,
            headers=list((headers or {}).items()),
            on_delivery=delivered,
            **extra,
        )
    producer.flush(10)
    assert len(placed) == len(values)
    return placed  # in delivery order: the given order within each partition


def read_topic(topic: str, count: int, partitions: int = 1, timeout: float = 20) -> list[Message]:
    """The first `count` records of a topic (waiting for them), in partition order."""
    consumer = Consumer(consumer_config(load_settings(), unique("reader")))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    found: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            found += [m for m in consumer.consume(count, 0.5) if m.error() is None]
    finally:
        consumer.close()
    assert len(found) >= count, f"{topic}: {len(found)} of {count} records"
    return sorted(found, key=lambda m: (m.partition() or 0, m.offset() or 0))


def eventually(check: Callable[[], T], timeout: float = 30, what: str = "condition") -> T:
    """The first truthy result of `check`, polling; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {result!r})")
        time.sleep(0.1)


def recorded_events(record_dir: Path) -> list[dict[str, Any]]:
    """The events the fixture handler saved, oldest first."""
    files = sorted(record_dir.glob("*.json"), key=lambda f: f.stat().st_mtime_ns)
    return [json.loads(f.read_text())["event"] for f in files]


@contextlib.contextmanager
def running(
    mapping: str,
    record_dir: Path,
    parameters: Mapping[str, str],
    env: Mapping[str, str] | None = None,
) -> Iterator[LocalEventSourceMappings]:
    """One mapping of the fixture template, started in a thread, stopped on exit."""
    record_dir.mkdir(parents=True, exist_ok=True)
    esm = LocalEventSourceMappings(
        TEMPLATE,
        {"RECORD_DIR": str(record_dir), **(env or {})},
        parameter_overrides=parameters,
        only=[mapping],
        backoff=FAST,
    )
    with run_in_thread(esm):
        yield esm
