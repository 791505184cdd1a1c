"""Edits, deletions and reactions through the local API Gateway, the route functions, Kafka and
persist: live to the room, refused with stable codes, and converged by catch-up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import MongoClient
from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.model import RoomType
from mayachat_local.config import StackConfig
from mayachat_local.devtools.rooms import create_room
from mayachat_local.process import running_pid, stop
from mayachat_local.stack import up
from tests.e2e.conftest import Client, Frame

Phone = Callable[[str], Client]
Room = Callable[..., str]
Users = Callable[[str], str]


def change(client: Client, action: str, room: str, message_id: str, **fields: Any) -> Frame:
    """Send a change; its ack, or the error frame naming the message."""
    client.send({"action": action, "roomId": room, "messageId": message_id, **fields})
    deadline = time.monotonic() + 20
    while True:
        for frame in client.inbox:
            if frame.get("messageId") == message_id and frame["type"] in ("ack", "error"):
                client.inbox.remove(frame)
                return frame
        assert time.monotonic() < deadline, f"no answer to {action}; got {client.inbox}"
        client.inbox.append(json.loads(client.ws.recv(timeout=20)))


def synced(client: Client, room: str, after: int) -> dict[str, Frame]:
    """What a phone knows after catching up: messages and updates, by id, newest version."""
    known: dict[str, Frame] = {}
    messages = client.catch_up(room, after)
    for message in messages + client.updates:
        held = known.get(message["messageId"])
        if held is None or message.get("version", 0) >= held.get("version", 0):
            known[message["messageId"]] = message
    return known


def edit(client: Client, room: str, message_id: str, text: str) -> Frame:
    return change(client, "editMessage", room, message_id, content={"type": "text", "text": text})


def react(client: Client, room: str, message_id: str, emoji: str, op: str = "add") -> Frame:
    return change(client, "react", room, message_id, emoji=emoji, op=op)


def test_an_edit_reaches_the_room_live_and_a_later_sync(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, alice_tablet, bob = phone(users("alice")), phone(users("alice")), phone(users("bob"))
    alice_tablet.user = alice.user
    room = new_room(alice.user, bob.user)
    sent = alice.send_text(room, "helo bob")
    bob.expect("message")
    ack = edit(alice, room, sent["messageId"], "hello bob")
    assert (ack["type"], ack["action"]) == ("ack", "editMessage")
    assert ack["version"] > sent["seq"]  # a change takes the room's next seq
    for device in (bob, alice_tablet):
        live = device.expect("message.edited", messageId=sent["messageId"])
        assert live["content"] == {"type": "text", "text": "hello bob"}
        assert live["version"] == ack["version"]
    # A phone that syncs from before the message gets it as it is now (the message first,
    # maybe, and its edit as an update once stored); one that had it gets it as an update.
    (fresh,) = synced(phone(bob.user), room, 0).values()
    assert fresh["content"]["text"] == "hello bob"
    assert (fresh["version"], "editedAt" in fresh) == (ack["version"], True)
    later = phone(bob.user)
    assert later.catch_up(room, sent["seq"]) == []
    assert [u["content"]["text"] for u in later.updates] == ["hello bob"]


def test_a_deleted_message_keeps_no_content_anywhere(
    phone: Phone, new_room: Room, users: Users, mongodb_uri: str, redis_admin: Redis
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    sent = alice.send_text(room, "something I regret", client_msg_id="cm-1")
    bob.expect("message")
    assert react(bob, room, sent["messageId"], "😮")["type"] == "ack"
    ack = change(alice, "deleteMessage", room, sent["messageId"])
    assert (ack["type"], ack["action"]) == ("ack", "deleteMessage")
    gone = bob.expect("message.deleted", messageId=sent["messageId"])
    assert gone["deletedBy"] == alice.user
    (tombstone,) = synced(phone(bob.user), room, 0).values()
    assert tombstone["content"] == {"type": "deleted"}
    assert tombstone["deleted"] is True
    assert "reactions" not in tombstone
    # MongoDB: the message, the room's summary; Redis: the send claim kept for resends.
    db = MongoClient(mongodb_uri).get_default_database()
    stored = db["messages"].find_one({"_id": sent["messageId"]})
    assert stored is not None
    assert "regret" not in str(stored)
    assert "regret" not in str(db["rooms"].find_one({"_id": room}))
    claim = redis_admin.hget(keys.send_claim(room, alice.user, "cm-1"), "m")
    assert claim is None or b"regret" not in claim
    # Deleting again is acked again (the first may not have reached the log); nothing more
    # can be done to it.
    assert change(alice, "deleteMessage", room, sent["messageId"])["type"] == "ack"
    refused = edit(alice, room, sent["messageId"], "too late")
    assert (refused["type"], refused["code"]) == ("error", "message_deleted")
    assert react(bob, room, sent["messageId"], "👍")["code"] == "message_deleted"


def test_who_may_change_what(phone: Phone, users: Users) -> None:
    owner, member, other = phone(users("olga")), phone(users("mo")), phone(users("pat"))
    room = create_room([owner.user, member.user, other.user], RoomType.GROUP)
    said = member.send_text(room, "a plain member's message")
    refused = edit(other, room, said["messageId"], "not mine")
    assert (refused["code"], refused["messageId"]) == ("not_yours", said["messageId"])
    assert change(other, "deleteMessage", room, said["messageId"])["code"] == "not_yours"
    # The group's owner moderates: deletes anyone's message (but edits only her own).
    assert edit(owner, room, said["messageId"], "owner edit")["code"] == "not_yours"
    assert change(owner, "deleteMessage", room, said["messageId"])["type"] == "ack"
    missing = edit(member, room, "01JDQ7Z8K3M4N5P6Q7R8S9T0VW", "x")
    assert (missing["code"], missing["retryAfterMs"]) == ("unknown_message", 1000)
    outsider = phone(users("eve"))
    assert edit(outsider, room, said["messageId"], "x")["code"] == "not_a_member"


def test_reactions_are_counted_once_per_user_and_emoji_and_bounded(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    sent = alice.send_text(room, "react to me")
    bob.expect("message")
    message_id = sent["messageId"]
    react(bob, room, message_id, "👍")
    assert alice.expect("reaction", messageId=message_id)["counts"] == {"👍": 1}
    react(bob, room, message_id, "👍")  # again: still one
    assert alice.expect("reaction", messageId=message_id)["counts"] == {"👍": 1}
    react(alice, room, message_id, "👍")
    assert bob.expect("reaction", messageId=message_id)["counts"] == {"👍": 2}
    react(bob, room, message_id, "👍", op="remove")
    taken_back = alice.expect("reaction", messageId=message_id)
    assert (taken_back["op"], taken_back["counts"]) == ("remove", {"👍": 1})
    bad = react(bob, room, message_id, "not an emoji")
    assert (bad["code"], bad["messageId"]) == ("invalid_field", message_id)
    mine = ["😀", "😂", "😍", "🥲", "😎", "🤔", "😴", "🤯", "🥳", "🙏"]
    for emoji in mine:  # ten of bob's (he took 👍 back): his limit
        assert react(bob, room, message_id, emoji)["type"] == "ack"
    assert react(bob, room, message_id, "🙈")["code"] == "too_many_reactions"
    (stored,) = synced(phone(bob.user), room, 0).values()
    assert stored["reactions"]["👍"] == [alice.user]
    assert set(stored["reactions"]) == {"👍", *mine}


def test_an_offline_member_converges_to_what_live_members_saw(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    carol = users("carol")
    room = new_room(alice.user, bob.user, carol)
    first = alice.send_text(room, "first")
    second = alice.send_text(room, "secnod")
    third = bob.send_text(room, "third")
    cursor = phone(carol).catch_up(room, 0)[-1]["seq"]  # carol read them all, then left
    edit(alice, room, second["messageId"], "second")
    change(alice, "deleteMessage", room, first["messageId"])
    react(bob, room, third["messageId"], "🎉")
    react(alice, room, third["messageId"], "🎉")
    react(alice, room, third["messageId"], "🎉", op="remove")
    fourth = bob.send_text(room, "fourth")
    # Live, bob saw all of it; carol catches up from her cursor and sees the same.
    back = phone(carol)
    new = back.catch_up(room, cursor)
    assert [m["messageId"] for m in new] == [fourth["messageId"]]
    now = {u["messageId"]: u for u in back.updates}
    assert now[first["messageId"]]["content"] == {"type": "deleted"}
    assert now[second["messageId"]]["content"]["text"] == "second"
    assert now[third["messageId"]]["reactions"] == {"🎉": [bob.user]}
    # From the cursor that sync gave, nothing more: each change is served once.
    assert (back.catch_up(room, back.cursor), back.updates) == ([], [])


def test_an_edit_after_the_window_is_refused(
    phone: Phone, new_room: Room, users: Users, redis_admin: Redis
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    sent = alice.send_text(room, "old news")
    # Sent 16 minutes ago, as far as the server's facts go (the window is 15).
    facts = keys.message_state(room, sent["messageId"])
    redis_admin.hincrby(facts, "t", -16 * 60 * 1000)
    late = edit(alice, room, sent["messageId"], "new news")
    assert (late["type"], late["code"]) == ("error", "edit_window_passed")
    assert change(alice, "deleteMessage", room, sent["messageId"])["type"] == "ack"  # no window


def test_changes_acked_while_mongodb_is_down_reach_catch_up_once_it_is_back(
    phone: Phone, new_room: Room, users: Users, stack_config: StackConfig
) -> None:
    if running_pid(stack_config, "mongodb") is None:
        pytest.skip("MongoDB was not started by this stack; the test will not stop it")
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    first = alice.send_text(room, "typo hree")
    second = alice.send_text(room, "regrettable")
    synced(phone(bob.user), room, 0)  # stored before the outage
    assert stop(stack_config, "mongodb")
    try:
        # Redis knows the messages and Kafka takes the changes: all acked, none stored yet.
        assert edit(alice, room, first["messageId"], "typo here")["type"] == "ack"
        assert react(bob, room, first["messageId"], "👀")["type"] == "ack"
        assert change(alice, "deleteMessage", room, second["messageId"])["type"] == "ack"
    finally:
        up(stack_config, ["mongodb"])
    now = synced(phone(bob.user), room, 0)
    assert now[first["messageId"]]["content"]["text"] == "typo here"
    assert now[first["messageId"]]["reactions"] == {"👀": [bob.user]}
    assert now[second["messageId"]]["content"] == {"type": "deleted"}
