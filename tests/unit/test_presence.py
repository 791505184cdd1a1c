"""Presence's rules against in-memory fakes: who may ask, what hiding shows, and when a
change is pushed (once it has held, once per change, only to small rooms' members)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mayachat.errors import ChatError, ErrorCode
from mayachat.model import Caller
from mayachat.persistence import IncomingRecord, Outcome
from mayachat.ports import PresenceProfile, Seen
from mayachat.presence import MAX_ASKED, PRESENCE_CHANGED, UserPresence, visible
from mayachat.presence_push import PresencePushes
from tests.fakes import World

ALICE = Caller("alice", "c-alice-phone")
ALICE_TABLET = Caller("alice", "c-alice-tablet")
BOB = Caller("bob", "c-bob")
CAROL = Caller("carol", "c-carol")
DEBOUNCE = 10.0


class Clock:
    def __init__(self, world: World) -> None:
        self.world = world
        self.slept: list[float] = []

    def now(self) -> float:
        return self.world.registry.now_ms / 1000

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.world.registry.now_ms += int(seconds * 1000)


@pytest.fixture
def world() -> World:
    return World(rooms_by_id={"r1": {"alice", "bob", "carol"}, "r2": {"alice", "dave"}})


@pytest.fixture
def clock(world: World) -> Clock:
    return Clock(world)


def pushes(world: World, clock: Clock, max_members: int = 100) -> PresencePushes:
    return PresencePushes(
        world.registry,
        world.presence_store,
        world.delivery,
        world.metrics,
        debounce_seconds=DEBOUNCE,
        max_members=max_members,
        clock=clock.now,
        sleep=clock.sleep,
    )


def presence_records(world: World) -> list[IncomingRecord]:
    """What the announcer logged, as the presence function receives it (then forgotten)."""
    records = [
        IncomingRecord(
            r.topic, 0, i, r.key.encode(), r.value, {"eventType": PRESENCE_CHANGED.encode()}
        )
        for i, r in enumerate(world.log.records)
        if r.topic == "chat-presence"
    ]
    world.log.records.clear()
    return records


def frames_to(world: World, connection_id: str) -> list[dict[str, Any]]:
    frames = [json.loads(data) for cid, data in world.gateway.sent if cid == connection_id]
    return [f for f in frames if f["type"] == "presence"]


def test_only_the_first_connection_in_and_the_last_out_are_changes(world: World) -> None:
    world.connections.connect(ALICE)
    world.connections.connect(ALICE_TABLET)
    world.connections.disconnect(ALICE.connection_id)
    assert [json.loads(r.value)["cause"] for r in world.log.records] == ["connected"]
    world.connections.disconnect(ALICE_TABLET.connection_id)
    causes = [json.loads(r.value)["cause"] for r in world.log.records]
    assert causes == ["connected", "disconnected"]
    assert all(r.key == "alice" for r in world.log.records)


def test_a_change_is_pushed_once_it_has_held_to_the_members_it_shares_rooms_with(
    world: World, clock: Clock
) -> None:
    for member in (BOB, CAROL):
        world.registry.register(member.connection_id, member.user_id)
    world.connections.connect(ALICE)
    assert pushes(world, clock).push(presence_records(world)) == [Outcome.DONE]
    assert clock.slept == [DEBOUNCE]
    for member in (BOB, CAROL):
        assert frames_to(world, member.connection_id) == [
            {"type": "presence", "users": [{"userId": "alice", "online": True}]}
        ]
    world.connections.disconnect(ALICE.connection_id)
    left_at = world.registry.now_ms
    pushes(world, clock).push(presence_records(world))
    last = frames_to(world, BOB.connection_id)[-1]["users"][0]
    assert last["online"] is False
    assert last["lastSeen"] == UserPresence("alice", False, _at(left_at)).to_wire()["lastSeen"]
    assert world.presence_store.profiles(["alice"])["alice"].last_seen == _at(left_at)


def test_a_flapping_connection_makes_no_push(world: World, clock: Clock) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.connections.connect(ALICE)
    pushes(world, clock).push(presence_records(world))
    told = len(frames_to(world, BOB.connection_id))
    for _ in range(5):  # between networks: gone and back within a second, again and again
        world.connections.disconnect(ALICE.connection_id)
        world.registry.now_ms += 300
        world.connections.connect(ALICE)
        world.registry.now_ms += 300
    records = presence_records(world)
    assert len(records) == 10
    pushes(world, clock).push(records)
    assert len(frames_to(world, BOB.connection_id)) == told  # still online, as told


def test_a_user_who_changed_again_is_left_to_the_later_record(world: World, clock: Clock) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.connections.connect(ALICE)
    first = presence_records(world)
    world.registry.now_ms += 5_000
    world.connections.disconnect(ALICE.connection_id)  # after the first, before its push
    pushes(world, clock).push(first)
    assert frames_to(world, BOB.connection_id) == []  # not yet: offline has not held
    pushes(world, clock).push(presence_records(world))
    assert [f["users"][0]["online"] for f in frames_to(world, BOB.connection_id)] == [False]


def test_big_rooms_are_not_told_and_hidden_members_are_not_told(world: World, clock: Clock) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.registry.register(CAROL.connection_id, CAROL.user_id)
    world.registry.register("c-dave", "dave")
    world.presence_store.set_hidden("carol", True)
    world.connections.connect(ALICE)
    pushes(world, clock, max_members=2).push(presence_records(world))
    assert frames_to(world, BOB.connection_id) == []  # r1 has 3 members: they ask
    assert frames_to(world, CAROL.connection_id) == []
    assert [f["users"] for f in frames_to(world, "c-dave")] == [
        [{"userId": "alice", "online": True}]
    ]


def test_hiding_is_pushed_as_offline_without_last_seen(world: World, clock: Clock) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.connections.connect(ALICE)
    pushes(world, clock).push(presence_records(world))
    world.presence.set_hidden("alice", True)
    pushes(world, clock).push(presence_records(world))
    assert frames_to(world, BOB.connection_id)[-1]["users"] == [
        {"userId": "alice", "online": False}
    ]
    assert world.presence.ask("bob", "r1") == [
        UserPresence("alice", online=False),
        UserPresence("carol", online=False),
    ]


def test_members_ask_about_the_others_and_strangers_are_refused(world: World) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.registry.register(CAROL.connection_id, CAROL.user_id)
    world.registry.remove("carol", CAROL.connection_id)
    gone_at = _at(world.registry.now_ms)
    assert world.presence.ask("alice", "r1") == [
        UserPresence("bob", online=True),
        UserPresence("carol", online=False, last_seen=gone_at),
    ]
    assert world.presence.ask("alice", "r1", ["carol", "dave", "alice"]) == [
        UserPresence("carol", online=False, last_seen=gone_at)
    ]  # dave is not in r1, alice is the asker: neither is answered
    with pytest.raises(ChatError) as refused:
        world.presence.ask("dave", "r1", ["bob"])
    assert refused.value.code is ErrorCode.NOT_A_MEMBER


def test_a_hidden_asker_sees_everyone_offline(world: World) -> None:
    world.registry.register(BOB.connection_id, BOB.user_id)
    world.presence_store.set_hidden("alice", True)
    assert world.presence.ask("alice", "r1", ["bob"]) == [UserPresence("bob", online=False)]


def test_a_big_room_is_asked_about_by_name(world: World) -> None:
    members = {f"u{i}" for i in range(MAX_ASKED + 1)} | {"alice"}
    world.directory.rooms["big"] = frozenset(members)
    assert len(world.presence.ask("alice", "big", ["u1", "u2"])) == 2
    with pytest.raises(ChatError) as refused:
        world.presence.ask("alice", "big")
    assert refused.value.code is ErrorCode.INVALID_FIELD


def test_last_seen_is_the_later_of_redis_and_mongodb() -> None:
    early, late = 1_700_000_000_000, 1_700_000_600_000
    seen = Seen(online=False, last_seen_ms=early, changed_at_ms=0, shown=None)
    stored = PresenceProfile(last_seen=_at(late))
    assert visible("u", seen, stored).last_seen == _at(late)
    assert visible("u", None, None) == UserPresence("u", online=False)  # never seen: unknown
    redis_lost = Seen(online=False, last_seen_ms=None, changed_at_ms=0, shown=None)
    assert visible("u", redis_lost, stored).last_seen == _at(late)


def test_an_unreadable_record_is_skipped(world: World, clock: Clock) -> None:
    bad = IncomingRecord(
        "chat-presence", 0, 1, b"x", b"{not json", {"eventType": PRESENCE_CHANGED.encode()}
    )
    other = IncomingRecord("chat-presence", 0, 2, b"x", b"{}", {})
    assert pushes(world, clock).push([bad, other]) == [Outcome.DONE, Outcome.DONE]
    assert clock.slept == []


def test_kafka_down_never_fails_a_connect(world: World) -> None:
    world.log.down = True
    world.connections.connect(ALICE)  # no push for it; asking stays right
    assert world.presence.ask("bob", "r1", ["alice"]) == [UserPresence("alice", online=True)]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
