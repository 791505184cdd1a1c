"""Rooms and their members (mayachat.room_admin), on fakes: a direct room is unique, groups
and room lists are bounded, roles decide who changes members, and a removal takes effect for
the WebSocket path at once."""

from __future__ import annotations

import json

import pytest

from mayachat import room_admin
from mayachat.errors import ChatError, Forbidden, Invalid
from mayachat.model import Caller, RoomType
from mayachat.roles import Role
from tests.fakes import World


@pytest.fixture
def world() -> World:
    return World()


def test_a_direct_room_between_two_users_is_unique(world: World) -> None:
    first, created = world.room_admin.create("alice", RoomType.DIRECT, ["bob"])
    again, created_again = world.room_admin.create("bob", RoomType.DIRECT, ["alice"])
    assert (created, created_again) == (True, False)
    assert again.room_id == first.room_id
    with pytest.raises(Invalid):
        world.room_admin.create("alice", RoomType.DIRECT, ["bob", "carol"])
    with pytest.raises(Invalid):  # direct rooms never change members
        world.room_admin.add_members("alice", first.room_id, ["carol"])


def test_groups_and_room_lists_are_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_admin, "MAX_GROUP_MEMBERS", 3)
    monkeypatch.setattr(room_admin, "MAX_ROOMS_PER_USER", 2)
    with pytest.raises(Invalid):
        world.room_admin.create("alice", RoomType.GROUP, ["b", "c", "d"])
    world.room_admin.create("alice", RoomType.GROUP, ["victim"])
    world.room_admin.create("alice", RoomType.GROUP, ["victim"])
    with pytest.raises(Invalid, match="victim"):  # nobody can be put in a thousand rooms
        world.room_admin.create("mallory", RoomType.GROUP, ["victim"])


def test_only_owners_and_admins_add_members(world: World) -> None:
    room, _ = world.room_admin.create("alice", RoomType.GROUP, ["bob"])
    with pytest.raises(Forbidden) as refused:
        world.room_admin.add_members("bob", room.room_id, ["mallory"])
    assert refused.value.code == "not_allowed"
    world.room_admin.set_role("alice", room.room_id, "bob", Role.ADMIN)
    changed = world.room_admin.add_members("bob", room.room_id, ["carol"])
    assert "carol" in changed.members


def test_a_removed_member_is_refused_at_once_and_a_stale_refill_cannot_readmit(
    world: World,
) -> None:
    room, _ = world.room_admin.create("alice", RoomType.GROUP, ["bob", "mallory"])
    rid = room.room_id
    world.registry.register("c-bob", "bob")
    world.registry.register("c-mallory", "mallory")
    mallory = Caller("mallory", "c-mallory")
    stale = frozenset(world.rooms.members(rid) or room.members)  # read before the change...
    world.room_admin.remove_member("alice", rid, "mallory")
    assert not world.cache.put(rid, stale, room.members_version)  # ...cannot be put back
    with pytest.raises(ChatError) as refused:
        world.typing.typing(mallory, rid, True)
    assert refused.value.code.value == "not_a_member"
    told = {cid: json.loads(data) for cid, data in world.gateway.sent}
    assert told["c-mallory"]["type"] == told["c-bob"]["type"] == "member.removed"
    assert told["c-mallory"]["userId"] == "mallory"


def test_the_room_list_pages_by_activity(world: World) -> None:
    made = [world.room_admin.create("alice", RoomType.GROUP, [f"u{i}"])[0] for i in range(5)]
    first = world.room_admin.listing("alice", limit=2)
    rest = world.room_admin.listing("alice", limit=10, cursor=first.next_cursor)
    ids = [item.room.room_id for item in first.listings + rest.listings]
    assert sorted(ids) == sorted(r.room_id for r in made)  # every room once
    assert rest.next_cursor is None
    with pytest.raises(Invalid):
        world.room_admin.listing("alice", cursor="garbage")
