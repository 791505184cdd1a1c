"""Issue #12's reproduction, on the real stack through real phones: an acked message reaches
every member's catch-up, whatever failed before it was acked.

Kafka is killed (`kill -9`) and restarted for real; Redis is flushed for real. Each test
stops and restarts only servers this test session started."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
from redis import Redis

from mayachat_local.config import StackConfig
from mayachat_local.process import running_pid
from mayachat_local.stack import up
from tests.e2e.conftest import Client

Phone = Callable[[str], Client]
TEXT = {"type": "text", "text": "sent while Kafka was down"}


def send(client: Client, room: str, client_msg_id: str) -> dict[str, object]:
    """One sendMessage frame; its answer: an ack or an error frame."""
    client.send(
        {"action": "sendMessage", "roomId": room, "clientMsgId": client_msg_id, "content": TEXT}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for kind in ("ack", "error"):
            try:
                return client.expect(kind, timeout=0.2, clientMsgId=client_msg_id)
            except AssertionError:
                continue
    raise AssertionError(f"no answer to {client_msg_id}")


def test_a_resend_after_kafka_came_back_reaches_a_reader_who_synced_in_between(
    phone: Phone,
    new_room: Callable[..., str],
    users: Callable[[str], str],
    stack_config: StackConfig,
) -> None:
    pid = running_pid(stack_config, "kafka")
    if pid is None:
        pytest.skip("Kafka was not started by this stack; the test will not kill it")
    alice, bob, carol = (phone(users(n)) for n in ("alice", "bob", "carol"))
    room = new_room(alice.user, bob.user, carol.user)

    os.killpg(pid, signal.SIGKILL)
    try:
        refused = send(alice, room, "A1")
        assert (refused["type"], refused.get("code")) == ("error", "unavailable")
    finally:
        up(stack_config, ["kafka"])

    acked_b = send(bob, room, "B1")  # Kafka is back
    assert acked_b["type"] == "ack"
    # carol syncs now: whatever she gets, her cursor must not pass alice's pending message.
    first = _sync_once(carol, room, 0)
    cursor = max([m["seq"] for m in first] or [0])
    acked_a = send(alice, room, "A1")  # the resend, same clientMsgId
    assert acked_a["type"] == "ack"

    later = carol.catch_up(room, cursor, timeout=60)
    got = {m["messageId"] for m in first} | {m["messageId"] for m in later}
    assert {acked_a["messageId"], acked_b["messageId"]} <= got, (first, later)


def _sync_once(client: Client, room: str, after_seq: int) -> list[dict[str, object]]:
    client.send({"action": "sync", "roomId": room, "afterSeq": after_seq})
    messages: list[dict[str, object]] = []
    while True:
        frame = client.expect("sync", roomId=room)
        messages += frame["messages"]
        if frame["final"]:
            return messages


def test_seqs_never_repeat_across_a_flushall(
    phone: Phone, new_room: Callable[..., str], users: Callable[[str], str], redis_admin: Redis
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    before = [alice.send_text(room, f"#{i}")["seq"] for i in range(3)]
    redis_admin.flushall()  # every counter, claim and cached member list gone
    after = [alice.send_text(room, f"#{i}")["seq"] for i in range(3)]
    assert min(after) > max(before), (before, after)
    seen = bob.catch_up(room, 0, timeout=60)
    assert sorted(m["seq"] for m in seen) == before + after
