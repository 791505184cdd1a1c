"""Presence over REST against the real Redis and MongoDB: members see each other, strangers
get a 404, hiding is both ways, too many names is a 422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mayachat import bootstrap
from mayachat.presence import MAX_ASKED
from tests.integration.test_rest_api import Auth, create_room, users


def _presence(rest: TestClient, auth: Auth, user: str, room: str) -> dict[str, dict[str, object]]:
    answer = rest.get(f"/api/rooms/{room}/presence", headers=auth(user))
    assert answer.status_code == 200, answer.text
    assert answer.json()["roomId"] == room
    return {u["userId"]: u for u in answer.json()["users"]}


def test_members_see_who_is_online_and_when_the_others_were_last_seen(
    rest: TestClient, auth: Auth
) -> None:
    alice, bob, carol, mallory = users("alice", "bob", "carol", "mallory")
    room = create_room(rest, auth, alice, [bob, carol])
    registry = bootstrap.connections().registry
    registry.register("c-bob", bob)
    registry.register("c-carol", carol)
    registry.unregister("c-carol")
    seen = _presence(rest, auth, alice, room)
    assert set(seen) == {bob, carol}  # the others, not the asker
    assert seen[bob] == {"userId": bob, "online": True}
    assert seen[carol]["online"] is False
    assert str(seen[carol]["lastSeen"]).endswith("Z")
    named = rest.get(
        f"/api/rooms/{room}/presence", params={"userId": [carol, mallory]}, headers=auth(alice)
    )
    assert [u["userId"] for u in named.json()["users"]] == [carol]  # mallory is not in it
    assert rest.get(f"/api/rooms/{room}/presence", headers=auth(mallory)).status_code == 404
    too_many = {"userId": [f"u{i}" for i in range(MAX_ASKED + 1)]}
    answer = rest.get(f"/api/rooms/{room}/presence", params=too_many, headers=auth(alice))
    assert answer.status_code == 422


def test_hidden_presence_is_offline_without_last_seen_both_ways(
    rest: TestClient, auth: Auth
) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    bootstrap.connections().registry.register("c-alice", alice)
    bootstrap.connections().registry.register("c-bob", bob)
    assert rest.get("/api/presence/settings", headers=auth(alice)).json() == {"hidden": False}
    hide = rest.put("/api/presence/settings", json={"hidden": True}, headers=auth(alice))
    assert hide.status_code == 200
    assert hide.json() == {"hidden": True}
    assert _presence(rest, auth, bob, room)[alice] == {"userId": alice, "online": False}
    assert _presence(rest, auth, alice, room)[bob] == {"userId": bob, "online": False}
    rest.put("/api/presence/settings", json={"hidden": False}, headers=auth(alice))
    assert _presence(rest, auth, bob, room)[alice] == {"userId": alice, "online": True}
    bad = rest.put("/api/presence/settings", json={"hidden": "yes"}, headers=auth(alice))
    assert bad.status_code == 422
