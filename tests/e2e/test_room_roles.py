"""Membership changes over REST reach the WebSocket path at once and are told to the room
(issue #13), through real phones and the real REST function."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from mayachat_local.devtools.devauth import mint
from mayachat_local.http_api.server import LocalHttpApi
from tests.e2e.conftest import Client

Phone = Callable[[str], Client]


def test_added_and_removed_members_are_told_and_a_removal_bites_at_once(
    rest_api: LocalHttpApi, phone: Phone, users: Callable[[str], str]
) -> None:
    owner, member, newcomer = users("olga"), users("mia"), users("nick")
    mia, nick = phone(member), phone(newcomer)
    with httpx.Client(base_url=rest_api.url, timeout=20) as http:

        def as_(user: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {mint(user)}"}

        created = http.post(
            "/api/rooms", json={"type": "group", "members": [member]}, headers=as_(owner)
        )
        room = created.json()["roomId"]
        mia.send_text(room, "hello")  # the membership is now cached in Redis

        added = http.post(
            f"/api/rooms/{room}/members", json={"userIds": [newcomer]}, headers=as_(owner)
        )
        assert added.status_code == 200
        told = mia.expect("member.added", roomId=room)
        assert (told["userIds"], told["by"]) == ([newcomer], owner)
        nick.expect("member.added", roomId=room)
        assert nick.send_text(room, "hi all")["seq"] > 0  # in at once

        gone = http.delete(f"/api/rooms/{room}/members/{newcomer}", headers=as_(owner))
        assert gone.status_code == 204
        assert nick.expect("member.removed", roomId=room)["userId"] == newcomer
        nick.send(
            {
                "action": "sendMessage",
                "roomId": room,
                "clientMsgId": "after-removal",
                "content": {"type": "text", "text": "still here?"},
            }
        )
        refused = nick.expect("error", clientMsgId="after-removal")
        assert refused["code"] == "not_a_member"  # out at once, not after the cache's TTL
