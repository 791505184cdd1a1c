"""The REAL persist function (template.yaml's PersistFunction) fed by the local MSK
event-source mappings from the real chat-messages / message-persistence topics, writing to the
real MongoDB. Fresh consumer groups (started at the topics' end) and fresh rooms keep these
tests apart from everything else on the stack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from pymongo import MongoClient
from pymongo.database import Database

from mayachat.ids import new_message_id
from mayachat.kafka_config import consumer_config
from mayachat.model import Message, Receipt, ReceiptKind, utc_now_iso
from mayachat.settings import load_settings
from mayachat_local.esm import LocalEventSourceMappings, run_in_thread
from mayachat_local.stack import function_environment
from tests.integration.esm_support import FAST, eventually, produce, unique

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
MESSAGES, EVENTS = "PersistFunction.ChatMessages", "PersistFunction.StateEvents"
CHAT, STATE, DEAD = "chat-messages", "message-persistence", "chat-dead-letter"


def end_offsets(topic: str) -> list[TopicPartition]:
    consumer = Consumer(consumer_config(load_settings(), unique("probe")))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return [
            TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1])
            for p in sorted(partitions)
        ]
    finally:
        consumer.close()


COORDINATOR_NOT_READY = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


def start_group_at_end(group: str, topic: str) -> None:
    """Commit the topic's end for a new group, so its mapping skips the topic's history.

    On a fresh broker the first group commit may meet a coordinator that is still loading
    (__consumer_offsets is created on first use): that is retriable, so retry it."""
    consumer = Consumer(consumer_config(load_settings(), group))
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                consumer.commit(offsets=end_offsets(topic), asynchronous=False)
                return
            except KafkaException as exc:
                error = exc.args[0]
                loading = error.code() in COORDINATOR_NOT_READY or error.retriable()
                if not loading or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def persist(
    kafka_brokers: str, mongodb_uri: str, redis_endpoints: dict[str, str], aws_endpoint: str
) -> Iterator[LocalEventSourceMappings]:
    endpoints = {"kafka": kafka_brokers, "mongodb": mongodb_uri, **redis_endpoints}
    groups = {MESSAGES: unique("persist-messages"), EVENTS: unique("persist-events")}
    start_group_at_end(groups[MESSAGES], CHAT)
    start_group_at_end(groups[EVENTS], STATE)
    env = {
        **function_environment({**endpoints, "aws": aws_endpoint}),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    esm = LocalEventSourceMappings(TEMPLATE, env, only=list(groups), group_ids=groups, backoff=FAST)
    with run_in_thread(esm):
        yield esm


@pytest.fixture(scope="module")
def db(mongodb_uri: str) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    yield client.get_default_database()
    client.close()


def message(room: str, seq: int, sender: str = "alice") -> Message:
    return Message(
        message_id=new_message_id(),
        room_id=room,
        seq=seq,
        sender_id=sender,
        client_msg_id=f"c-{seq}-{unique('m')}",
        content={"type": "text", "text": f"hello {seq}"},
        created_at=utc_now_iso(),
    )


def send(room: str, values: list[bytes]) -> list[tuple[int, int]]:
    headers = {"eventType": b"message.created", "schemaVersion": b"1"}
    return produce(CHAT, values, key=room.encode(), headers=headers)


def wire(m: Message | Receipt) -> bytes:
    return json.dumps(m.to_wire()).encode()


def test_messages_land_in_mongodb_with_every_field(
    persist: LocalEventSourceMappings, db: Database[dict[str, Any]]
) -> None:
    room = unique("esm-room")
    sent = [message(room, seq) for seq in (1, 2, 3)]
    send(room, [wire(m) for m in sent])
    persist.wait_until_caught_up(MESSAGES, timeout=60)
    stored = list(db.messages.find({"roomId": room}).sort("seq", 1))
    assert [d["_id"] for d in stored] == [m.message_id for m in sent]
    for doc, m in zip(stored, sent, strict=True):
        created = datetime.fromisoformat(m.created_at.replace("Z", "+00:00"))
        assert doc == {
            "_id": m.message_id,
            "roomId": room,
            "seq": m.seq,
            "senderId": "alice",
            "clientMsgId": m.client_msg_id,
            "content": m.content,
            "createdAt": created.replace(tzinfo=None),  # BSON dates come back naive, in UTC
        }
        assert created.tzinfo is UTC


def test_the_same_batch_delivered_three_times_is_stored_once(
    persist: LocalEventSourceMappings, db: Database[dict[str, Any]]
) -> None:
    room = unique("esm-room")
    sent = [message(room, seq) for seq in range(1, 5)]
    placed = send(room, [wire(m) for m in sent])
    persist.wait_until_caught_up(MESSAGES, timeout=60)
    last = persist.mapping(MESSAGES).last_event
    assert last is not None
    delivered = [(r["partition"], r["offset"]) for rs in last["records"].values() for r in rs]
    assert set(placed) <= set(delivered)  # the last batch holds the four messages
    results = persist.redeliver_last_batch(MESSAGES, times=2)
    assert results == [{"batchItemFailures": []}] * 2
    assert db.messages.count_documents({"roomId": room}) == 4
    assert sorted(d["seq"] for d in db.messages.find({"roomId": room})) == [1, 2, 3, 4]


def test_a_poison_record_goes_to_the_dead_letter_topic_and_its_neighbours_are_stored(
    persist: LocalEventSourceMappings, db: Database[dict[str, Any]]
) -> None:
    room = unique("esm-room")
    dead_from = end_offsets(DEAD)
    first, last = message(room, 1), message(room, 2)
    placed = send(room, [wire(first), b"this is not json", wire(last)])
    poison_partition, poison_offset = placed[1]
    persist.wait_until_caught_up(MESSAGES, timeout=60)
    assert {d["_id"] for d in db.messages.find({"roomId": room})} == {
        first.message_id,
        last.message_id,
    }
    letter = eventually(
        lambda: dead_letter_for(dead_from, poison_partition, poison_offset),
        what="the dead letter",
    )
    headers = {k: (v or b"").decode() for k, v in letter.headers() or []}
    assert letter.value() == b"this is not json"
    assert letter.key() == room.encode()
    assert headers["reason"].startswith("value is not JSON")
    assert headers["sourceTopic"] == CHAT


def dead_letter_for(start: list[TopicPartition], partition: int, offset: int) -> Any:
    consumer = Consumer(consumer_config(load_settings(), unique("dead-reader")))
    consumer.assign(start)
    try:
        for msg in consumer.consume(500, 2):
            headers = {k: (v or b"").decode() for k, v in msg.headers() or []}
            if (
                msg.error() is None
                and headers.get("sourceTopic") == CHAT
                and headers.get("sourcePartition") == str(partition)
                and headers.get("sourceOffset") == str(offset)
            ):
                return msg
    finally:
        consumer.close()
    return None


def test_receipts_out_of_order_never_move_a_cursor_back(
    persist: LocalEventSourceMappings, db: Database[dict[str, Any]]
) -> None:
    room = unique("esm-room")

    def receipt(kind: ReceiptKind, seq: int) -> bytes:
        return wire(Receipt(room_id=room, user_id="bob", kind=kind, up_to_seq=seq))

    def cursor() -> dict[str, Any] | None:
        return db.room_cursors.find_one({"_id": f"{room}:bob"})

    headers = {"eventType": b"receipt.read", "schemaVersion": b"1"}
    produce(
        STATE,
        [receipt(ReceiptKind.READ, 5), receipt(ReceiptKind.READ, 3)],
        key=room.encode(),
        headers=headers,
    )
    produce(STATE, [receipt(ReceiptKind.DELIVERED, 2)], key=room.encode(), headers=headers)
    persist.wait_until_caught_up(EVENTS, timeout=60)
    doc = cursor()
    assert doc is not None
    assert (doc["readUpToSeq"], doc["deliveredUpToSeq"]) == (5, 5)
    assert (doc["roomId"], doc["userId"]) == (room, "bob")
    # A late, older receipt in a later batch changes nothing either.
    produce(STATE, [receipt(ReceiptKind.READ, 4)], key=room.encode(), headers=headers)
    persist.wait_until_caught_up(EVENTS, timeout=60)
    doc = cursor()
    assert doc is not None
    assert (doc["readUpToSeq"], doc["deliveredUpToSeq"]) == (5, 5)
