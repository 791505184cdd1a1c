"""Two phones chat through the local API Gateway and the real route functions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition
from redis import Redis
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mayachat.adapters import redis_keys as keys
from mayachat.kafka_config import consumer_config
from mayachat.settings import load_settings
from mayachat_local.devtools.devauth import mint
from mayachat_local.gateway.server import LocalWebSocketGateway
from tests.e2e.conftest import Client

Phone = Callable[[str], Client]
Room = Callable[..., str]
Users = Callable[[str], str]


def test_two_users_chat(phone: Phone, new_room: Room, users: Users) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    ack = alice.send_text(room, "hi bob")
    assert (ack["roomId"], ack["seq"]) == (room, 1)
    delivered = bob.expect("message")["message"]
    assert delivered["messageId"] == ack["messageId"]
    assert delivered["senderId"] == alice.user
    assert delivered["content"] == {"type": "text", "text": "hi bob"}
    reply = bob.send_text(room, "hi alice")
    assert reply["seq"] == 2
    assert alice.expect("message")["message"]["messageId"] == reply["messageId"]


def test_every_device_of_a_user_receives(phone: Phone, new_room: Room, users: Users) -> None:
    a, b = users("alice"), users("bob")
    alice_phone, alice_tablet, alice_laptop, bob = phone(a), phone(a), phone(a), phone(b)
    room = new_room(a, b)
    sent = bob.send_text(room, "to all your devices")
    for device in (alice_phone, alice_tablet, alice_laptop):
        assert device.expect("message")["message"]["messageId"] == sent["messageId"]
    mine = alice_phone.send_text(room, "from my phone")
    for device in (alice_tablet, alice_laptop, bob):
        assert device.expect("message")["message"]["messageId"] == mine["messageId"]
    alice_phone.barrier()
    assert not [f for f in alice_phone.inbox if f["type"] == "message"]  # ack only


def test_a_resend_with_the_same_client_msg_id_yields_one_message(
    phone: Phone,
    new_room: Room,
    users: Users,
    kafka_brokers: str,
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    start = _end_offsets(kafka_brokers)
    first = alice.send_text(room, "once", client_msg_id="same-id-1")
    again = alice.send_text(room, "once", client_msg_id="same-id-1")
    assert again == first
    bob.expect("message")
    bob.barrier()
    assert [f for f in bob.inbox if f["type"] == "message"] == []
    records = _records_since(kafka_brokers, start, room)
    assert [json.loads(r[1])["messageId"] for r in records] == [first["messageId"]]


def test_the_record_is_in_kafka_with_the_room_as_key_and_headers(
    phone: Phone,
    new_room: Room,
    users: Users,
    kafka_brokers: str,
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    start = _end_offsets(kafka_brokers)
    ack = alice.send_text(room, "logged")
    ((key, value, headers),) = _records_since(kafka_brokers, start, room)
    assert key == room.encode()
    assert json.loads(value)["seq"] == ack["seq"]
    assert headers["eventType"] == b"message.created"
    assert headers["messageId"] == ack["messageId"].encode()
    assert headers["senderId"] == alice.user.encode()
    assert headers["schemaVersion"] == b"1"


def test_a_stale_connection_is_removed_when_the_gateway_says_gone(
    phone: Phone,
    new_room: Room,
    users: Users,
    redis_admin: Redis,
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    redis = redis_admin
    stale = f"stale{uuid.uuid4().hex[:8]}="  # $disconnect never ran for it
    redis.zadd(keys.user_connections(bob.user), {stale: time.time() * 1000})
    redis.hset(keys.connection(stale), mapping={"userId": bob.user})
    alice.send_text(room, "anyone there?")
    bob.expect("message")
    # The sender's function drops gone connections once all its posts have returned (a
    # tombstone, minus the time it went, stays for a while: a late frame does not revive it).
    deadline = time.monotonic() + 20
    while (redis.zscore(keys.user_connections(bob.user), stale) or -1) > 0:
        assert time.monotonic() < deadline, "the stale connection was never removed"
        time.sleep(0.05)
    assert not redis.exists(keys.connection(stale))
    assert len(_connection_ids(redis, bob.user)) == 1  # bob's live connection stays


@pytest.mark.parametrize("token", [None, "", "garbage", "expired", "forged"])
def test_a_bad_token_is_refused_at_the_handshake(
    gateway: LocalWebSocketGateway, token: str | None
) -> None:
    if token == "expired":
        token = mint("alice", ttl_seconds=-3600)
    elif token == "forged":
        header, payload, _ = mint("alice").split(".")
        token = f"{header}.{payload}.{'A' * 43}"
    url = gateway.url if token is None else f"{gateway.url}?token={token}"
    with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=20):
        pass
    assert refused.value.response.status_code in (401, 403)


def test_sync_after_a_disconnect_returns_exactly_the_missed_messages(
    phone: Phone,
    new_room: Room,
    users: Users,
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    seen = alice.send_text(room, "before")["seq"]
    bob.expect("message")
    bob.ws.close()
    missed = [alice.send_text(room, f"missed {i}") for i in range(3)]
    bob = phone(bob.user)
    caught_up = bob.catch_up(room, seen)  # served once the persist function stored them
    assert [m["messageId"] for m in caught_up] == [a["messageId"] for a in missed]
    assert [m["seq"] for m in caught_up] == [seen + 1, seen + 2, seen + 3]


def test_typing_and_receipts_reach_the_other_member(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    bob.send({"action": "typing", "roomId": room, "isTyping": True})
    assert alice.expect("typing") == {
        "type": "typing",
        "roomId": room,
        "userId": bob.user,
        "isTyping": True,
    }
    seq = alice.send_text(room, "read me")["seq"]
    bob.expect("message")
    bob.send({"action": "markRead", "roomId": room, "upToSeq": seq})
    receipt = alice.expect("receipt")
    assert (receipt["userId"], receipt["kind"], receipt["upToSeq"]) == (bob.user, "read", seq)


def _connection_ids(redis: Redis, user: str) -> list[str]:
    """The user's registered connections (positive scores; tombstones are negative)."""
    return sorted(c.decode() for c in redis.zrangebyscore(keys.user_connections(user), 0, "+inf"))


def _end_offsets(brokers: str) -> dict[int, int]:
    consumer = Consumer(consumer_config(load_settings(), group_id=f"e2e-{uuid.uuid4().hex}"))
    topic = load_settings().kafka_topic_chat_messages
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        }
    finally:
        consumer.close()


def _records_since(
    brokers: str, start: dict[int, int], key: str
) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    """Every chat-messages record with `key` after the `start` offsets, up to the end now."""
    topic = load_settings().kafka_topic_chat_messages
    end = _end_offsets(brokers)
    consumer = Consumer(consumer_config(load_settings(), group_id=f"e2e-{uuid.uuid4().hex}"))
    found = []
    try:
        consumer.assign([TopicPartition(topic, p, o) for p, o in start.items() if end[p] > o])
        remaining = sum(end[p] - o for p, o in start.items())
        while remaining > 0:
            msg = consumer.poll(10)
            assert msg is not None, "the log ended early"
            remaining -= 1
            if msg.key() == key.encode():
                found.append((msg.key(), msg.value(), dict(msg.headers() or [])))
    finally:
        consumer.close()
    return found
