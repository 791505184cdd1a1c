"""The Kafka event log adapter against the real broker."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from mayachat.adapters.kafka_log import KafkaEventLog
from mayachat.kafka_config import consumer_config, producer_config
from mayachat.ports import LogRecord, LogUnavailable
from mayachat.settings import load_settings


def test_append_returns_only_once_the_broker_holds_the_record(kafka_brokers: str) -> None:
    settings = load_settings()
    log = KafkaEventLog(producer_config(settings))
    room = f"room-{uuid.uuid4().hex[:8]}"
    position = log.append(
        LogRecord(
            settings.kafka_topic_chat_messages,
            room,
            b'{"n":1}',
            {"eventType": "message.created", "schemaVersion": "1"},
        )
    )
    consumer = Consumer(consumer_config(settings, group_id=f"t-{uuid.uuid4().hex}"))
    try:
        consumer.assign([TopicPartition(position.topic, position.partition, position.offset)])
        msg = consumer.poll(10)
        assert msg is not None
        assert msg.error() is None
        assert (msg.key(), msg.value()) == (room.encode(), b'{"n":1}')
        assert dict(msg.headers() or []) == {"eventType": b"message.created", "schemaVersion": b"1"}
    finally:
        consumer.close()


def test_an_unreachable_broker_is_unavailable_not_a_hang(kafka_brokers: str) -> None:
    settings = load_settings()
    config = {**producer_config(settings), "bootstrap.servers": "127.0.0.1:1"}
    log = KafkaEventLog(config, delivery_timeout_s=1.0)
    with pytest.raises(LogUnavailable, match="delivery"):
        log.append(LogRecord("chat-messages", "r", b"{}", {}))
