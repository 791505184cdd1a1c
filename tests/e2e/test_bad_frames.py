"""Every bad frame gets an error frame with its stable code, and the socket stays open."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Client

Phone = Callable[[str], Client]
Room = Callable[..., str]
Users = Callable[[str], str]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "invalid_json"),
        ("[1, 2, 3]", "not_an_object"),
        ('"sendMessage"', "not_an_object"),
        ("{}", "unknown_action"),
        ('{"action": "deleteEverything"}', "unknown_action"),
        (
            '{"action": "sendMessage", "clientMsgId": "c1", '
            '"content": {"type": "text", "text": "no room"}}',
            "invalid_field",
        ),
        (
            '{"action": "sendMessage", "roomId": "r", "clientMsgId": "c1", '
            '"content": {"type": "image", "url": "x"}}',
            "invalid_field",
        ),
        ('{"action": "typing", "roomId": "r", "isTyping": "yes"}', "invalid_field"),
        ('{"action": "markRead", "roomId": "r", "upToSeq": -5}', "invalid_field"),
        ('{"action": "sync", "roomId": {"$gt": ""}, "afterSeq": 0}', "invalid_field"),
        (
            json.dumps(
                {
                    "action": "sendMessage",
                    "roomId": "r",
                    "clientMsgId": "c-long",
                    "content": {"type": "text", "text": "x" * 4001},
                }
            ),
            "too_long",
        ),
    ],
)
def test_each_bad_frame_class_gets_its_code(
    phone: Phone, users: Users, frame: str, code: str
) -> None:
    client = phone(users("alice"))
    client.send(frame)
    error = client.expect("error")
    assert error["code"] == code
    assert error["message"]
    if code == "too_long":
        assert error["clientMsgId"] == "c-long"
    client.barrier()  # still open, still answering


def test_a_message_over_the_frame_limit_is_refused(phone: Phone, users: Users) -> None:
    client = phone(users("alice"))
    body = json.dumps({"action": "ping", "padding": "x" * 40_000})
    half = len(body) // 2
    client.ws.send(iter([body[:half], body[half:]]))  # two frames, each under 32 KB
    assert client.expect("error")["code"] == "frame_too_large"
    client.barrier()


def test_a_non_member_cannot_send_type_mark_or_sync(
    phone: Phone, new_room: Room, users: Users
) -> None:
    alice, mallory = phone(users("alice")), phone(users("mallory"))
    room = new_room(alice.user, users("bob"))
    frames = [
        {
            "action": "sendMessage",
            "roomId": room,
            "clientMsgId": "m1",
            "content": {"type": "text", "text": "let me in"},
        },
        {"action": "typing", "roomId": room, "isTyping": True},
        {"action": "markRead", "roomId": room, "upToSeq": 0},
        {"action": "sync", "roomId": room, "afterSeq": 0},
    ]
    for frame in frames:
        mallory.send(frame)
        assert mallory.expect("error")["code"] == "not_a_member"
    alice.barrier()
    assert alice.inbox == []  # nothing reached the members


def test_a_flood_is_rate_limited_and_the_socket_survives(phone: Phone, users: Users) -> None:
    client = phone(users("alice"))
    for _ in range(80):
        client.send({"action": "ping"})
    assert client.expect("error", code="rate_limited")["message"]
    assert client.ws.state.name == "OPEN"
