"""Presence through the local API Gateway, the route functions, Kafka's chat-presence topic
and the presence function on its mapping: several devices, a flapping connection, hidden
presence, a stranger asking, and Redis losing everything."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis import Redis

from mayachat_local.esm import LocalEventSourceMappings
from tests.e2e.conftest import PRESENCE_DEBOUNCE, Client, Frame, bearer

Phone = Callable[[str], Client]
Room = Callable[..., str]
Users = Callable[[str], str]
DEBOUNCE = PRESENCE_DEBOUNCE


@pytest.fixture(scope="module", autouse=True)
def _pushes(presence_pushes: LocalEventSourceMappings) -> LocalEventSourceMappings:
    """Every test here runs with the presence function on its mapping."""
    return presence_pushes


def ask(client: Client, room: str, **fields: Any) -> Frame:
    """The `presence` answer for the room (or the error frame)."""
    client.send({"action": "presence", "roomId": room, **fields})
    deadline = time.monotonic() + 20
    while True:
        for frame in client.inbox:
            if frame["type"] == "error" or (
                frame["type"] == "presence" and frame.get("roomId") == room
            ):
                client.inbox.remove(frame)
                return frame
        assert time.monotonic() < deadline, f"no presence answer; got {client.inbox}"
        _receive(client, deadline)


def seen(client: Client, room: str) -> dict[str, Frame]:
    answer = ask(client, room)
    assert answer["type"] == "presence", answer
    return {u["userId"]: u for u in answer["users"]}


def pushed(client: Client, user: str, timeout: float = 20.0) -> Frame:
    """The next pushed presence of `user` (a frame without roomId)."""
    deadline = time.monotonic() + timeout
    while True:
        for frame in client.inbox:
            if frame["type"] == "presence" and "roomId" not in frame:
                about = [u for u in frame["users"] if u["userId"] == user]
                if about:
                    client.inbox.remove(frame)
                    return about[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"no presence push about {user}; got {client.inbox}")
        _receive(client, deadline)


def _receive(client: Client, deadline: float) -> None:
    """One more frame from the socket into the inbox, if one comes before the deadline."""
    with contextlib.suppress(TimeoutError):
        client.inbox.append(
            json.loads(client.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        )


def no_push_about(client: Client, user: str, for_seconds: float) -> None:
    try:
        frame = pushed(client, user, timeout=for_seconds)
    except AssertionError:
        return
    raise AssertionError(f"pushed about {user}: {frame}")


def test_online_while_any_device_is_connected_and_pushed_once_the_last_goes(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, bob = users("alice"), users("bob")
    room = new_room(alice, bob)
    watcher = phone(bob)
    alice_phone, alice_tablet = phone(alice), phone(alice)
    assert pushed(watcher, alice)["online"] is True
    assert seen(watcher, room)[alice] == {"userId": alice, "online": True}
    alice_phone.ws.close()
    no_push_about(watcher, alice, for_seconds=DEBOUNCE * 4)  # the tablet is still there
    assert seen(watcher, room)[alice]["online"] is True
    alice_tablet.ws.close()
    offline = pushed(watcher, alice)
    assert offline["online"] is False
    assert offline["lastSeen"].endswith("Z")
    assert seen(watcher, room)[alice] == offline
    assert seen(phone(alice), room)[bob] == {"userId": bob, "online": True}


def test_a_flapping_connection_makes_no_pushes(phone: Phone, new_room: Room, users: Users) -> None:
    alice, bob = users("alice"), users("bob")
    new_room(alice, bob)
    watcher = phone(bob)
    phone(alice)  # stays: so alice is online throughout
    assert pushed(watcher, alice)["online"] is True
    for _ in range(3):  # a second device between networks, again and again
        phone(alice).ws.close()
    no_push_about(watcher, alice, for_seconds=DEBOUNCE * 4)
    flapper = phone(alice)
    for _ in range(3):
        flapper.ws.close()
        flapper = phone(alice)
    no_push_about(watcher, alice, for_seconds=DEBOUNCE * 4)


def test_the_only_device_flapping_is_not_pushed_either(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, bob = users("alice"), users("bob")
    new_room(alice, bob)
    watcher = phone(bob)
    flapper = phone(alice)
    assert pushed(watcher, alice)["online"] is True
    for _ in range(3):  # off and on again well within the debounce period
        flapper.ws.close()
        flapper = phone(alice)
    no_push_about(watcher, alice, for_seconds=DEBOUNCE * 4)


def test_hidden_presence_is_offline_without_last_seen_both_ways(
    phone: Phone, new_room: Room, users: Users, http: httpx.Client
) -> None:
    alice, bob = users("alice"), users("bob")
    room = new_room(alice, bob)
    watcher, hider = phone(bob), phone(alice)
    assert pushed(watcher, alice)["online"] is True
    hidden = http.put("/api/presence/settings", json={"hidden": True}, headers=bearer(alice))
    assert hidden.status_code == 200, hidden.text
    assert pushed(watcher, alice) == {"userId": alice, "online": False}
    assert seen(watcher, room)[alice] == {"userId": alice, "online": False}
    assert seen(hider, room)[bob] == {"userId": bob, "online": False}  # and sees others so
    http.put("/api/presence/settings", json={"hidden": False}, headers=bearer(alice))
    assert pushed(watcher, alice)["online"] is True
    assert seen(hider, room)[bob]["online"] is True


def test_a_stranger_cannot_ask(
    phone: Phone, new_room: Room, users: Users, http: httpx.Client
) -> None:
    alice, bob, mallory = users("alice"), users("bob"), users("mallory")
    room = new_room(alice, bob)
    phone(alice)
    stranger = phone(mallory)
    for fields in ({}, {"userIds": [alice]}):
        refused = ask(stranger, room, **fields)
        assert (refused["type"], refused["code"]) == ("error", "not_a_member")
    unknown_room = ask(stranger, "no-such-room", userIds=[alice])
    assert unknown_room["code"] == "not_a_member"  # the same answer: rooms do not leak
    answer = http.get(f"/api/rooms/{room}/presence", headers=bearer(mallory))
    assert answer.status_code == 404
    bad = ask(stranger, room, userIds=[])
    assert bad["code"] == "invalid_field"


def test_after_redis_loses_everything_the_next_frame_brings_presence_back(
    phone: Phone, new_room: Room, users: Users, redis_admin: Redis
) -> None:
    alice, bob = users("alice"), users("bob")
    room = new_room(alice, bob)
    watcher, alice_phone = phone(bob), phone(alice)
    assert seen(watcher, room)[alice]["online"] is True
    redis_admin.flushall()  # every connection, heartbeat and lastSeen gone
    assert seen(watcher, room)[alice]["online"] is False  # wrong, until alice's next frame
    alice_phone.barrier()  # a ping: the heartbeat every phone sends
    assert seen(watcher, room)[alice]["online"] is True
    watcher.send_text(room, "still reaching you?")  # and live delivery is back too
    assert alice_phone.expect("message")["message"]["content"]["text"] == "still reaching you?"
