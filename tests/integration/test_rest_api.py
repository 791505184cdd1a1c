"""The REST API against the real MongoDB, Redis and Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mayachat import bootstrap
from mayachat.adapters.mongo_store import MongoMessageStore
from mayachat.ids import new_message_id
from mayachat.model import Message

Auth = Callable[[str], dict[str, str]]


def users(*names: str) -> list[str]:
    suffix = uuid.uuid4().hex[:6]
    return [f"{n}-{suffix}" for n in names]


def put_messages(room_id: str, senders: list[str], count: int) -> list[Message]:
    """Messages as the send path and the persist function leave them: seqs claimed in Redis
    (1..count in a new room), stored in MongoDB, the room's stable seq raised."""
    ledger = bootstrap.sequences()
    messages = []
    for seq in range(1, count + 1):
        claim = ledger.claim(
            Message(
                new_message_id(),
                room_id,
                0,
                senders[seq % len(senders)],
                f"c{seq}",
                {"type": "text", "text": f"#{seq}"},
                f"2026-11-26T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}.000Z",
            )
        )
        ledger.confirm(claim)
        messages.append(claim.message)
    assert [m.seq for m in messages] == list(range(1, count + 1))
    store = MongoMessageStore(bootstrap.mongo_database())
    for i in range(0, count, 500):
        store.store_messages(messages[i : i + 500])
    store.raise_stable({room_id: count})
    return messages


def create_room(
    rest: TestClient, auth: Auth, creator: str, members: list[str], kind: str = "group"
) -> str:
    response = rest.post(
        "/api/rooms", json={"type": kind, "members": members}, headers=auth(creator)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["roomId"])


def test_a_direct_room_between_two_users_is_unique(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    first = rest.post("/api/rooms", json={"type": "direct", "members": [bob]}, headers=auth(alice))
    again = rest.post("/api/rooms", json={"type": "direct", "members": [alice]}, headers=auth(bob))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["roomId"] == again.json()["roomId"]
    assert sorted(first.json()["members"]) == sorted([alice, bob])


def test_history_pages_over_thousands_return_each_message_once(
    rest: TestClient, auth: Auth
) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    put_messages(room, [alice, bob], 2500)
    seen: list[int] = []
    params: dict[str, int] = {"limit": 100}
    while True:
        page = rest.get(f"/api/messages/room/{room}", params=params, headers=auth(bob)).json()
        seen += [m["seq"] for m in page["messages"]]
        if not page["hasMore"]:
            break
        params = {"limit": 100, **page["nextCursor"]}
    assert seen == list(range(2500, 0, -1))  # newest first, each once

    forward: list[int] = []
    params = {"limit": 100, "after": 0}
    while True:
        page = rest.get(f"/api/messages/room/{room}", params=params, headers=auth(bob)).json()
        forward += [m["seq"] for m in page["messages"]]
        if not page["hasMore"]:
            break
        params = {"limit": 100, **page["nextCursor"]}
    assert forward == list(range(1, 2501))


def test_unread_stats_and_receipts(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    messages = put_messages(room, [alice, bob], 10)  # odd seqs from bob, even from alice
    unread = rest.get(f"/api/messages/unread/{alice}", headers=auth(alice)).json()
    assert unread["rooms"] == {room: 5}
    assert {m["senderId"] for m in unread["messages"]} == {bob}

    stats = rest.get(f"/api/messages/stats/{room}", headers=auth(alice)).json()
    assert stats["messageCount"] == 10
    assert stats["perSender"] == {alice: 5, bob: 5}
    assert stats["unreadCount"] == 5
    assert stats["firstMessageAt"] < stats["lastMessageAt"]

    status = rest.put(
        f"/api/messages/{messages[6].message_id}/status",
        json={"status": "read"},
        headers=auth(alice),
    )
    assert status.status_code == 200, status.text
    assert status.json()["upToSeq"] == 7
    marked = rest.post(
        "/api/messages/delivered",
        json={"messageIds": [messages[2].message_id, messages[4].message_id]},
        headers=auth(alice),
    )
    assert marked.json() == {"kind": "delivered", "rooms": {room: 5}}


def test_rooms_list_carries_unread_counts_and_last_message(rest: TestClient, auth: Auth) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    quiet = create_room(rest, auth, alice, [carol])
    busy = create_room(rest, auth, alice, [bob])
    put_messages(busy, [bob], 3)
    rooms = {r["roomId"]: r for r in rest.get("/api/rooms", headers=auth(alice)).json()["rooms"]}
    assert set(rooms) == {quiet, busy}
    assert rooms[busy]["unreadCount"] == 3
    assert rooms[busy]["lastMessage"]["seq"] == 3
    assert rooms[quiet]["unreadCount"] == 0


def test_the_rooms_list_pages_newest_activity_first_each_room_once(
    rest: TestClient, auth: Auth
) -> None:
    alice, *others = users("alice", "b", "c", "d", "e", "f", "g", "h")
    created = [create_room(rest, auth, alice, [other]) for other in others]  # newest last
    busy = created[2]
    put_messages(busy, [others[2]], 2)  # its last message is its activity: now the newest
    seen: list[dict[str, object]] = []
    cursor = None
    for _ in range(len(created)):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = rest.get("/api/rooms", params=params, headers=auth(alice)).json()
        assert len(page["rooms"]) <= 3
        seen += page["rooms"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    order = [r["roomId"] for r in seen]
    assert order == [busy, *[r for r in reversed(created) if r != busy]]
    assert seen[0]["unreadCount"] == 2
    everything = rest.get("/api/rooms", headers=auth(alice)).json()
    assert [r["roomId"] for r in everything["rooms"]] == order  # one page by default
    assert everything["nextCursor"] is None


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 201}])
def test_a_bad_page_request_is_refused_with_a_reason(
    rest: TestClient, auth: Auth, params: dict[str, object]
) -> None:
    response = rest.get("/api/rooms", params=params, headers=auth(users("alice")[0]))
    assert response.status_code == 422
    assert response.json()["detail"]


def test_membership_changes_reach_the_websocket_cache(rest: TestClient, auth: Auth) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    room = create_room(rest, auth, alice, [bob])
    rooms = bootstrap.rooms()
    assert carol not in rooms.members(room)  # now cached in Redis
    added = rest.post(f"/api/rooms/{room}/members", json={"userIds": [carol]}, headers=auth(alice))
    assert carol in added.json()["members"]
    assert carol in rooms.members(room)
    refused = rest.delete(f"/api/rooms/{room}/members/{bob}", headers=auth(carol))
    assert (refused.status_code, refused.json()["code"]) == (403, "not_allowed")  # a member
    assert (
        rest.delete(f"/api/rooms/{room}/members/{bob}", headers=auth(bob)).status_code == 204
    )  # leaving is allowed
    assert bob not in rooms.members(room)


def test_roles_owner_admins_members_and_an_owner_who_leaves(rest: TestClient, auth: Auth) -> None:
    owner, admin, member, outsider = users("olga", "adam", "mia", "eve")
    room = create_room(rest, auth, owner, [admin, member])

    def add(actor: str, who: str) -> int:
        return rest.post(
            f"/api/rooms/{room}/members", json={"userIds": [who]}, headers=auth(actor)
        ).status_code

    def role(actor: str, who: str, value: str) -> int:
        return rest.put(
            f"/api/rooms/{room}/members/{who}", json={"role": value}, headers=auth(actor)
        ).status_code

    assert rest.get(f"/api/rooms/{room}", headers=auth(member)).json()["roles"] == {owner: "owner"}
    assert add(member, outsider) == 403  # a plain member adds nobody
    assert role(member, admin, "admin") == 403
    assert role(owner, admin, "admin") == 200
    assert add(admin, outsider) == 200  # an admin adds
    assert rest.delete(f"/api/rooms/{room}/members/{owner}", headers=auth(admin)).status_code == 403
    assert (
        rest.delete(f"/api/rooms/{room}/members/{outsider}", headers=auth(admin)).status_code == 204
    )
    assert rest.delete(f"/api/rooms/{room}/members/{owner}", headers=auth(owner)).status_code == 204
    after = rest.get(f"/api/rooms/{room}", headers=auth(admin)).json()
    assert after["roles"] == {admin: "owner"}  # the owner left: the admin owns it now
    assert owner not in after["members"]


def test_a_removal_takes_effect_at_once_even_against_a_stale_refill(
    rest: TestClient, auth: Auth
) -> None:
    """A reader that read the members before the removal must not put them back in the cache
    (it would re-admit the removed member for the cache's whole TTL)."""
    owner, victim = users("olga", "vic")
    room = create_room(rest, auth, owner, [victim])
    directory = bootstrap._mongo_rooms()
    stale = directory.members(room)  # a WebSocket function read MongoDB just before...
    assert stale is not None
    assert (
        rest.delete(f"/api/rooms/{room}/members/{victim}", headers=auth(owner)).status_code == 204
    )
    cache = bootstrap.rooms().cache
    assert not cache.put(room, *stale)  # ...and its put comes after the change: refused
    assert victim not in bootstrap.rooms().members(room)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/messages/room/{room}", None),
        ("get", "/api/messages/stats/{room}", None),
        ("post", "/api/messages/delivered", {"roomId": "{room}", "upToSeq": 1}),
        ("put", "/api/messages/{message}/status", {"status": "read"}),
        ("get", "/api/rooms/{room}", None),
        ("post", "/api/rooms/{room}/members", {"userIds": ["someone"]}),
        ("delete", "/api/rooms/{room}/members/{member}", None),
        ("get", "/api/messages/unread/{member}", None),
        ("get", "/api/rooms", None),
        ("post", "/api/rooms", {"type": "group", "members": ["x"]}),
    ],
)
def test_authorization_matrix(
    rest: TestClient, auth: Auth, method: str, path: str, body: dict[str, object] | None
) -> None:
    """Every endpoint as a member, a non-member, with a bad token and with none."""
    alice, bob, mallory = users("alice", "bob", "mallory")
    room = create_room(rest, auth, alice, [bob])
    (message,) = put_messages(room, [bob], 1)

    def call(headers: dict[str, str], member: str) -> int:
        fill = {"room": room, "message": message.message_id, "member": member}
        url = path.format(**fill)
        payload = {
            k: (v.format(**fill) if isinstance(v, str) else v) for k, v in (body or {}).items()
        }
        response = rest.request(
            method.upper(), url, headers=headers, json=payload if body is not None else None
        )
        return response.status_code

    member_ok = {"post": (200, 201), "delete": (204,)}.get(method, (200,))
    assert call(auth(alice), alice) in member_ok
    expected_outsider = {"/api/rooms": 200, "/api/messages/unread/{member}": 403}
    outsider = call(auth(mallory), alice)
    if path == "/api/rooms" and method == "post":
        assert outsider == 201  # anyone may create their own rooms
    else:
        assert outsider == expected_outsider.get(path, 404)
    assert call({"Authorization": "Bearer not.a.token"}, alice) == 401
    assert call({}, alice) == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/rooms", {"type": "group", "members": [{"$gt": ""}]}),
        ("post", "/api/messages/delivered", {"roomId": {"$gt": ""}, "upToSeq": 1}),
        ("post", "/api/messages/delivered", {"roomId": "r", "upToSeq": "1"}),
        ("post", "/api/messages/delivered", {"roomId": "r"}),
        ("post", "/api/messages/delivered", {"messageIds": ["not-a-ulid"]}),
        ("put", "/api/messages/01JD0000000000000000000000/status", {"status": "gone"}),
        ("get", "/api/messages/room/has%20space", None),
        ("get", "/api/messages/room/r?limit=1000", None),
        ("get", "/api/messages/room/r?before=1&after=2", None),
    ],
)
def test_bad_input_is_422_naming_the_problem(
    rest: TestClient, auth: Auth, method: str, path: str, body: object
) -> None:
    response = rest.request(method.upper(), path, json=body, headers=auth("alice"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_unknown_message_is_404(rest: TestClient, auth: Auth) -> None:
    response = rest.put(
        "/api/messages/01JD0000000000000000000000/status",
        json={"status": "read"},
        headers=auth("alice"),
    )
    assert response.status_code == 404


def test_health_and_openapi(rest: TestClient) -> None:
    assert rest.get("/health").json() == {"status": "ok"}
    spec = rest.get("/openapi.json").json()
    assert "/api/messages/room/{roomId}" in spec["paths"]
    assert rest.get("/docs").status_code == 200


def test_nobody_can_be_put_in_more_rooms_than_the_cap(
    rest: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mayachat import room_admin

    monkeypatch.setattr(room_admin, "MAX_ROOMS_PER_USER", 3)
    spammer, victim, friend, other = users("spam", "vic", "fred", "oli")
    for _ in range(3):
        create_room(rest, auth, spammer, [victim])
    refused = rest.post(
        "/api/rooms", json={"type": "group", "members": [victim]}, headers=auth(spammer)
    )
    assert refused.status_code == 422
    assert victim in refused.json()["detail"]
    room = create_room(rest, auth, friend, [other])
    added = rest.post(
        f"/api/rooms/{room}/members", json={"userIds": [victim]}, headers=auth(friend)
    )
    assert added.status_code == 422
