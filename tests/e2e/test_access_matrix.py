"""The access matrix (issue #13): every role x every WebSocket action and REST route ->
allowed, or the documented refusal. Real phones through the local gateway, the real REST
function over HTTP. Each role gets a room of its own, so what one row changes (a member
removed) cannot decide another row."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import Client, bearer

Phone = Callable[[str], Client]
ALLOWED, NOT_A_MEMBER = "allowed", "not_a_member"
# role -> what it gets: WebSocket actions, room reads, adding/promoting/removing members.
MATRIX = {
    #            ws actions     room reads  add    promote  remove a member
    "owner": (ALLOWED, 200, 200, 200, 204),
    "admin": (ALLOWED, 200, 200, 200, 204),
    "member": (ALLOWED, 200, 403, 403, 403),
    "removed": (NOT_A_MEMBER, 404, 404, 404, 404),
    "non-member": (NOT_A_MEMBER, 404, 404, 404, 404),
}


@dataclass
class Room:
    room_id: str
    people: dict[str, str]  # role -> user id


def group(http: httpx.Client, users: Callable[[str], str]) -> Room:
    """A group with one person of each role, and plain members to act on."""
    people = {r: users(r.replace("-", "")) for r in ("owner", "admin", "member", "removed")}
    people |= {"non-member": users("eve"), "target": users("tina"), "other": users("oli")}
    members = [people[r] for r in ("admin", "member", "removed", "target", "other")]
    made = http.post(
        "/api/rooms", json={"type": "group", "members": members}, headers=bearer(people["owner"])
    )
    assert made.status_code == 201, made.text
    room_id = made.json()["roomId"]
    admin = http.put(
        f"/api/rooms/{room_id}/members/{people['admin']}",
        json={"role": "admin"},
        headers=bearer(people["owner"]),
    )
    assert admin.status_code == 200, admin.text
    gone = http.delete(
        f"/api/rooms/{room_id}/members/{people['removed']}", headers=bearer(people["owner"])
    )
    assert gone.status_code == 204, gone.text
    return Room(room_id, people)


def ws_answers(client: Client, room_id: str) -> set[str]:
    """Each WebSocket action on the room: 'allowed' or the error code it got. Frames are
    handled concurrently (as by API Gateway), so each is answered before the next is sent:
    sendMessage by its ack, sync by its frames; typing and marks answer only a refusal."""
    cmid = uuid.uuid4().hex[:16]
    text = {"type": "text", "text": "hi"}
    frames: list[tuple[dict[str, object], str | None]] = [
        ({"action": "sendMessage", "roomId": room_id, "clientMsgId": cmid, "content": text}, "ack"),
        ({"action": "sync", "roomId": room_id, "afterSeq": 0}, "sync"),
        ({"action": "typing", "roomId": room_id, "isTyping": True}, None),
        ({"action": "markRead", "roomId": room_id, "upToSeq": 0}, None),
    ]
    answers = set()
    for frame, answer in frames:
        client.send(frame)
        deadline = time.monotonic() + (20 if answer else 2)
        outcome = ALLOWED if answer is None else None
        while outcome is None or time.monotonic() < deadline:
            try:
                reply = client.expect_any(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            if reply["type"] == "error":
                outcome = reply["code"]
                break
            if reply["type"] == answer:
                outcome = ALLOWED
                break
        answers.add(outcome or "no answer")
    return answers


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_gets_what_the_rules_say(
    role: str, http: httpx.Client, phone: Phone, users: Callable[[str], str]
) -> None:
    room = group(http, users)
    actor = room.people[role]
    ws, reads, add, promote, remove = MATRIX[role]

    assert ws_answers(phone(actor), room.room_id) == {ws}
    for path in (
        f"/api/rooms/{room.room_id}",
        f"/api/messages/room/{room.room_id}",
        f"/api/messages/stats/{room.room_id}",
    ):
        assert http.get(path, headers=bearer(actor)).status_code == reads, path
    assert (
        http.post(
            "/api/messages/delivered",
            json={"roomId": room.room_id, "upToSeq": 0},
            headers=bearer(actor),
        ).status_code
        == reads
    )
    newcomer = users("nick")
    added = http.post(
        f"/api/rooms/{room.room_id}/members", json={"userIds": [newcomer]}, headers=bearer(actor)
    )
    assert added.status_code == add, added.text
    promoted = http.put(
        f"/api/rooms/{room.room_id}/members/{room.people['other']}",
        json={"role": "admin"},
        headers=bearer(actor),
    )
    assert promoted.status_code == promote, promoted.text
    removed = http.delete(
        f"/api/rooms/{room.room_id}/members/{room.people['target']}", headers=bearer(actor)
    )
    assert removed.status_code == remove, removed.text
    if add == 403:
        assert added.json()["code"] == "not_allowed"


def test_only_you_read_your_unread_and_a_direct_room_never_changes(
    http: httpx.Client, users: Callable[[str], str]
) -> None:
    alice, bob, eve = users("alice"), users("bob"), users("eve")
    assert http.get(f"/api/messages/unread/{alice}", headers=bearer(alice)).status_code == 200
    assert http.get(f"/api/messages/unread/{alice}", headers=bearer(eve)).status_code == 403
    direct = http.post(
        "/api/rooms", json={"type": "direct", "members": [bob]}, headers=bearer(alice)
    ).json()["roomId"]
    for answer in (
        http.post(f"/api/rooms/{direct}/members", json={"userIds": [eve]}, headers=bearer(alice)),
        http.delete(f"/api/rooms/{direct}/members/{bob}", headers=bearer(alice)),
        http.put(
            f"/api/rooms/{direct}/members/{bob}", json={"role": "admin"}, headers=bearer(alice)
        ),
    ):
        assert answer.status_code == 422, answer.text
