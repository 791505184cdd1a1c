"""Round trips through the real local Kafka broker (KRaft)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from mayachat.kafka_config import consumer_config, producer_config
from mayachat.settings import load_settings


@pytest.fixture
def topic(kafka_brokers: str) -> Iterator[str]:
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    name = f"test-{uuid.uuid4().hex[:12]}"
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result()
    yield name
    admin.delete_topics([name])[name].result()


def test_the_seed_topics_exist_with_their_partitions(kafka_brokers: str) -> None:
    settings = load_settings()
    topics = AdminClient({"bootstrap.servers": kafka_brokers}).list_topics(timeout=10).topics
    assert len(topics[settings.kafka_topic_chat_messages].partitions) == 3
    assert settings.kafka_topic_message_persistence in topics
    assert settings.kafka_topic_dead_letter in topics


def test_produce_and_consume_a_record_with_key_and_headers(topic: str) -> None:
    settings = load_settings()
    producer = Producer(producer_config(settings))
    reports: list[tuple[str | None, int]] = []

    def on_delivery(err: object, msg: object) -> None:
        reports.append((str(err) if err else None, msg.offset()))  # type: ignore[attr-defined]

    producer.produce(
        topic,
        key=b"room-1",
        value=b'{"text":"hi"}',
        headers=[("eventType", b"message"), ("schemaVersion", b"1")],
        on_delivery=on_delivery,
    )
    assert producer.flush(10) == 0
    assert reports == [(None, reports[0][1])]  # acked by the broker (acks=all)

    consumer = Consumer(consumer_config(settings, group_id=f"g-{uuid.uuid4().hex}"))
    consumer.subscribe([topic])
    try:
        msg = None
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None
        assert msg.error() is None
        assert msg.key() == b"room-1"
        assert msg.value() == b'{"text":"hi"}'
        assert msg.headers() == [("eventType", b"message"), ("schemaVersion", b"1")]
        consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()


def test_a_key_always_lands_on_the_same_partition(topic: str) -> None:
    producer = Producer(producer_config(load_settings()))
    partitions: set[int] = set()
    for i in range(10):
        producer.produce(
            topic,
            key=b"room-42",
            value=str(i).encode(),
            on_delivery=lambda _err, msg: partitions.add(msg.partition()),
        )
    assert producer.flush(10) == 0
    assert len(partitions) == 1


def test_the_topics_resource_sets_retention_on_new_and_existing_topics(
    kafka_brokers: str, topic: str
) -> None:
    """infra/aws/kafka_topics (Custom::KafkaTopics) against the real broker: the retention is
    how long a MongoDB outage can last without losing a record (G4)."""
    from pathlib import Path

    from confluent_kafka.admin import ConfigResource, ResourceType

    from tests.lambda_support import load_handler_module

    app = load_handler_module(
        Path(__file__).resolve().parents[2] / "infra" / "aws" / "kafka_topics" / "app.py",
        "kafka_topics_app_it",
    )
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    fresh = f"test-{uuid.uuid4().hex[:12]}"
    two_days = 48 * 3600 * 1000
    try:
        assert app.ensure_topics(admin, [topic, fresh], 1, two_days) == [fresh]
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in (topic, fresh)]
        for future in admin.describe_configs(resources).values():
            assert future.result()["retention.ms"].value == str(two_days)
    finally:
        admin.delete_topics([fresh])[fresh].result()
