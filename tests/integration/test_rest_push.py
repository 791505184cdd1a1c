"""Devices and push preferences over REST, against the real MongoDB: a user's devices are
theirs only, a token moves instead of doubling, mutes need membership, bad input is a 422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mayachat.push_settings import MAX_DEVICES_PER_USER
from tests.integration.test_rest_api import Auth, create_room, users

FCM_TOKEN = "fcm-token-0123456789:abcdefghij_klmnop"


def _devices(rest: TestClient, auth: Auth, user: str) -> list[dict[str, str]]:
    response = rest.get("/api/devices", headers=auth(user))
    assert response.status_code == 200, response.text
    return list(response.json()["devices"])


def test_a_device_is_registered_listed_and_removed(rest: TestClient, auth: Auth) -> None:
    (alice,) = users("alice")
    body = {"platform": "FCM", "token": FCM_TOKEN}
    answer = rest.put("/api/devices/pixel-8", json=body, headers=auth(alice))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"deviceId": "pixel-8", "platform": "FCM", "tokenEnd": FCM_TOKEN[-6:]}
    assert rest.put("/api/devices/pixel-8", json=body, headers=auth(alice)).status_code == 200
    assert [d["deviceId"] for d in _devices(rest, auth, alice)] == ["pixel-8"]  # not twice
    assert rest.delete("/api/devices/pixel-8", headers=auth(alice)).status_code == 204
    assert _devices(rest, auth, alice) == []
    assert rest.delete("/api/devices/pixel-8", headers=auth(alice)).status_code == 404


def test_a_token_registered_by_another_user_moves_to_them(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    body = {"platform": "APNS", "token": "a1b2c3d4" * 8}
    rest.put("/api/devices/shared-ipad", json=body, headers=auth(alice))
    rest.put("/api/devices/ipad", json=body, headers=auth(bob))  # signed in as bob now
    assert _devices(rest, auth, alice) == []
    assert [d["deviceId"] for d in _devices(rest, auth, bob)] == ["ipad"]
    # Nobody removes another user's device: alice's id names nothing of hers now.
    assert rest.delete("/api/devices/ipad", headers=auth(alice)).status_code == 404


def test_a_user_has_at_most_so_many_devices(rest: TestClient, auth: Auth) -> None:
    (alice,) = users("alice")
    for i in range(MAX_DEVICES_PER_USER):
        body = {"platform": "FCM", "token": f"{FCM_TOKEN}{i}"}
        assert rest.put(f"/api/devices/d{i}", json=body, headers=auth(alice)).status_code == 200
    body = {"platform": "FCM", "token": f"{FCM_TOKEN}x"}
    refused = rest.put("/api/devices/one-more", json=body, headers=auth(alice))
    assert refused.status_code == 422
    assert "remove one" in refused.json()["detail"]
    # A known device may still change its token.
    assert rest.put("/api/devices/d0", json=body, headers=auth(alice)).status_code == 200


def test_bad_device_input_is_a_422_naming_the_field(rest: TestClient, auth: Auth) -> None:
    (alice,) = users("alice")
    for body, field in [
        ({"platform": "WNS", "token": FCM_TOKEN}, "platform"),
        ({"platform": "FCM", "token": "short"}, "token"),
        ({"platform": "FCM", "token": {"$gt": ""}}, "token"),
        ({"platform": "FCM"}, "token"),
    ]:
        answer = rest.put("/api/devices/d1", json=body, headers=auth(alice))
        assert answer.status_code == 422, body
        assert field in answer.text
    assert rest.put("/api/devices/bad$id", json={}, headers=auth(alice)).status_code == 422


def test_previews_can_be_hidden_and_rooms_muted_by_their_members_only(
    rest: TestClient, auth: Auth
) -> None:
    alice, bob, eve = users("alice", "bob", "eve")
    room = create_room(rest, auth, alice, [bob])
    assert rest.get("/api/push/preferences", headers=auth(bob)).json() == {
        "showPreview": True,
        "mutedRooms": [],
    }
    hidden = rest.put("/api/push/preferences", json={"showPreview": False}, headers=auth(bob))
    assert hidden.json()["showPreview"] is False
    until = "2030-01-01T08:00:00Z"
    assert (
        rest.put(f"/api/rooms/{room}/mute", json={"until": until}, headers=auth(bob)).status_code
        == 204
    )
    muted = rest.get("/api/push/preferences", headers=auth(bob)).json()["mutedRooms"]
    assert muted == [{"roomId": room, "until": "2030-01-01T08:00:00Z"}]
    assert rest.put(f"/api/rooms/{room}/mute", json={}, headers=auth(bob)).status_code == 204
    muted = rest.get("/api/push/preferences", headers=auth(bob)).json()["mutedRooms"]
    assert muted == [{"roomId": room, "until": None}]  # for ever
    assert rest.delete(f"/api/rooms/{room}/mute", headers=auth(bob)).status_code == 204
    assert rest.get("/api/push/preferences", headers=auth(bob)).json()["mutedRooms"] == []
    # A stranger cannot even learn that the room exists.
    assert rest.put(f"/api/rooms/{room}/mute", json={}, headers=auth(eve)).status_code == 404
    naive = rest.put(
        f"/api/rooms/{room}/mute", json={"until": "2030-01-01T08:00:00"}, headers=auth(bob)
    )
    assert naive.status_code == 422
    assert "time zone" in naive.text
