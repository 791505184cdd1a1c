"""The chat services' rules, against in-memory fakes of every port."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mayachat.chat import MAX_SYNC_FRAME_BYTES, first_frame_only, sync_frames
from mayachat.errors import ChatError, ErrorCode
from mayachat.model import Caller, Message, ReceiptKind
from mayachat.ports import Slice
from tests.fakes import World

ALICE_PHONE = Caller("alice", "c-alice-phone")
ALICE_TABLET = Caller("alice", "c-alice-tablet")
BOB = Caller("bob", "c-bob")
MALLORY = Caller("mallory", "c-mallory")
TEXT = {"type": "text", "text": "hello"}


@pytest.fixture
def world() -> World:
    w = World(rooms_by_id={"r1": {"alice", "bob"}})
    for caller in (ALICE_PHONE, ALICE_TABLET, BOB, MALLORY):
        w.registry.register(caller.connection_id, caller.user_id)
    return w


def frames_to(world: World, connection_id: str) -> list[dict[str, Any]]:
    return [json.loads(data) for cid, data in world.gateway.sent if cid == connection_id]


def sent(world: World, caller: Caller, client_msg_id: str, room_id: str = "r1") -> Message:
    """The message a (room, sender, clientMsgId) stands for."""
    return world.ledger.claims[(room_id, caller.user_id, client_msg_id)][0]


def synced(world: World, caller: Caller, room_id: str, after_seq: int) -> list[int]:
    """The seqs a sync from `after_seq` answers (after the persist function ran)."""
    world.persist()
    world.gateway.sent.clear()
    world.sync.sync(caller, room_id, after_seq, None)
    frames = frames_to(world, caller.connection_id)
    return [m["seq"] for f in frames if f["type"] == "sync" for m in f["messages"]]


def test_send_logs_then_acks_the_sender_and_delivers_to_every_other_device(world: World) -> None:
    ack = world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack
    message = sent(world, ALICE_PHONE, "m-1")
    (record,) = world.log.records
    assert (record.topic, record.key) == ("chat-messages", "r1")
    assert record.headers["eventType"] == "message.created"
    assert json.loads(record.value)["messageId"] == message.message_id
    assert ack == message.ack()  # answered in the route response...
    assert frames_to(world, "c-alice-phone") == []  # ...not posted
    wire = {"type": "message", "message": message.to_wire()}
    assert frames_to(world, "c-bob") == [wire]
    assert frames_to(world, "c-alice-tablet") == [wire]  # the sender's other device
    assert frames_to(world, "c-mallory") == []
    assert message.seq == 1
    assert record.headers["stableSeq"] == "1"  # every seq up to its own is settled


def test_a_resend_returns_the_first_ack_and_creates_nothing(world: World) -> None:
    first = world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack
    world.gateway.sent.clear()
    again = world.messaging.send(ALICE_PHONE, "r1", "m-1", {"type": "text", "text": "edited?"}).ack
    assert again == first == sent(world, ALICE_PHONE, "m-1").ack()
    assert len(world.log.records) == 1
    assert world.gateway.sent == []


def test_a_big_room_gets_the_ack_posted_first_not_after_the_fan_out(world: World) -> None:
    world.delivery.wave = 2  # fewer posts than this: the ack is the route response
    assert world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack_posted
    ack = sent(world, ALICE_PHONE, "m-1").ack()
    assert json.loads(world.gateway.sent[0][1]) == ack
    assert world.gateway.sent[0][0] == "c-alice-phone"
    assert {cid for cid, _ in world.gateway.sent[1:]} == {"c-bob", "c-alice-tablet"}


def test_a_room_bigger_than_a_wave_gets_its_ack_before_its_connections_are_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.delivery.wave = 1  # alice and bob: a room bigger than one wave
    events: list[str] = []
    lookup, post = world.registry.connections_of, world.gateway.post_many
    monkeypatch.setattr(
        world.registry, "connections_of", lambda users: (events.append("lookup"), lookup(users))[1]
    )
    monkeypatch.setattr(
        world.gateway,
        "post_many",
        lambda posts: (events.append(f"post {[cid for cid, _ in posts]}"), post(posts))[1],
    )
    assert world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack_posted
    assert events == ["post ['c-alice-phone']", "lookup", "post ['c-alice-tablet', 'c-bob']"]
    assert json.loads(world.gateway.sent[0][1]) == sent(world, ALICE_PHONE, "m-1").ack()


def test_an_ack_that_could_not_be_posted_first_is_the_route_response(world: World) -> None:
    world.delivery.wave = 1
    world.gateway.refusing.add("c-alice-phone")
    result = world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    assert not result.ack_posted
    assert result.ack == sent(world, ALICE_PHONE, "m-1").ack()
    assert {cid for cid, _ in world.gateway.sent} == {"c-bob", "c-alice-tablet"}


def test_a_send_the_log_refuses_is_not_acked_and_its_retry_keeps_id_and_seq(
    world: World,
) -> None:
    world.log.down = True
    with pytest.raises(ChatError) as refused:
        world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    assert refused.value.code is ErrorCode.UNAVAILABLE
    assert refused.value.client_msg_id == "m-1"
    assert world.gateway.sent == []
    (pending, acked) = world.ledger.claims[("r1", "alice", "m-1")]
    assert not acked

    world.log.down = False
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    message = sent(world, ALICE_PHONE, "m-1")
    assert (message.message_id, message.seq) == (pending.message_id, pending.seq)
    assert len(world.log.records) == 1


def test_a_non_member_cannot_send_type_mark_or_sync(world: World) -> None:
    attempts = [
        lambda: world.messaging.send(MALLORY, "r1", "x", TEXT),
        lambda: world.typing.typing(MALLORY, "r1", True),
        lambda: world.receipts.mark(MALLORY, "r1", ReceiptKind.READ, 0),
        lambda: world.sync.sync(MALLORY, "r1", 0, None),
        lambda: world.messaging.send(ALICE_PHONE, "no-such-room", "x", TEXT),
    ]
    for attempt in attempts:
        with pytest.raises(ChatError) as refused:
            attempt()
        assert refused.value.code is ErrorCode.NOT_A_MEMBER
    assert world.log.records == []
    assert world.gateway.sent == []


def test_membership_is_read_from_the_directory_once_then_cached(world: World) -> None:
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    world.messaging.send(ALICE_PHONE, "r1", "m-2", TEXT)
    assert world.directory.reads == 1


def test_a_cached_list_without_the_sender_refuses_before_a_seq_is_taken(world: World) -> None:
    """The claim checks the cached members in its own step: a refused send takes no seq."""
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)  # caches r1's members
    world.cache.rooms["r1"] = frozenset({"bob"})  # alice was removed (the cache says so)
    with pytest.raises(ChatError) as refused:
        world.messaging.send(ALICE_PHONE, "r1", "m-2", TEXT)
    assert refused.value.code is ErrorCode.NOT_A_MEMBER
    assert refused.value.client_msg_id == "m-2"
    assert world.ledger.latest("r1") == 1
    assert ("r1", "alice", "m-2") not in world.ledger.claims


def test_a_send_delivers_to_the_members_its_claim_read(world: World) -> None:
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    world.cache.rooms["r1"] = frozenset({"alice"})  # bob left: the next send skips him
    world.gateway.sent.clear()
    world.messaging.send(ALICE_PHONE, "r1", "m-2", TEXT)
    assert frames_to(world, "c-bob") == []
    assert len(frames_to(world, "c-alice-tablet")) == 1


def test_the_members_connections_are_read_while_the_record_is_in_flight(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    lookup, start = world.registry.connections_of, world.log.start

    def looked_up(users: Any) -> dict[str, list[str]]:
        order.append("lookup")
        return lookup(users)

    def started(record: Any) -> Any:
        in_flight = start(record)
        order.append("start")
        wait = in_flight.wait
        in_flight.wait = lambda: (order.append("wait"), wait())[1]  # type: ignore[method-assign]
        return in_flight

    monkeypatch.setattr(world.registry, "connections_of", looked_up)
    monkeypatch.setattr(world.log, "start", started)
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    assert order == ["start", "lookup", "wait"]
    assert [f["type"] for f in frames_to(world, "c-bob")] == ["message"]


def test_a_failed_early_lookup_is_done_again_when_delivering(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookup = world.registry.connections_of
    calls: list[int] = []

    def flaky(users: Any) -> dict[str, list[str]]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("Redis went away")
        return lookup(users)

    monkeypatch.setattr(world.registry, "connections_of", flaky)
    assert world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack is not None
    assert len(calls) == 2
    assert [f["type"] for f in frames_to(world, "c-bob")] == ["message"]


def test_gone_connections_leave_the_registry(world: World) -> None:
    world.gateway.gone.add("c-bob")
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    assert "c-bob" not in world.registry.user_of


def test_typing_reaches_only_the_other_members(world: World) -> None:
    world.typing.typing(ALICE_PHONE, "r1", True)
    expected = {"type": "typing", "roomId": "r1", "userId": "alice", "isTyping": True}
    assert frames_to(world, "c-bob") == [expected]
    assert frames_to(world, "c-alice-tablet") == []
    assert world.log.records == []


def test_receipts_move_forward_only_and_are_logged(world: World) -> None:
    for i in range(5):
        world.messaging.send(ALICE_PHONE, "r1", f"m-{i}", TEXT)
    world.gateway.sent.clear()
    world.receipts.mark(BOB, "r1", ReceiptKind.READ, 3)
    world.receipts.mark(BOB, "r1", ReceiptKind.READ, 2)  # backwards: nothing happens
    world.receipts.mark(BOB, "r1", ReceiptKind.READ, 3)  # same: nothing happens
    receipts = [r for r in world.log.records if r.topic == "message-persistence"]
    assert len(receipts) == 1
    assert receipts[0].headers["eventType"] == "receipt.read"
    assert json.loads(receipts[0].value)["upToSeq"] == 3
    assert world.cursors.position("r1", "bob", ReceiptKind.READ) == 3
    (frame,) = frames_to(world, "c-alice-phone")
    assert (frame["type"], frame["kind"], frame["upToSeq"]) == ("receipt", "read", 3)


def test_a_receipt_beyond_the_latest_message_is_refused(world: World) -> None:
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    with pytest.raises(ChatError) as refused:
        world.receipts.mark(BOB, "r1", ReceiptKind.DELIVERED, 99)
    assert refused.value.code is ErrorCode.INVALID_SEQ


def test_a_receipt_the_log_refuses_leaves_the_cursor_where_it_was(world: World) -> None:
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    world.log.down = True
    with pytest.raises(ChatError):
        world.receipts.mark(BOB, "r1", ReceiptKind.READ, 1)
    assert world.cursors.position("r1", "bob", ReceiptKind.READ) is None


def test_sync_replays_exactly_the_missed_messages_in_order(world: World) -> None:
    for i in range(6):
        world.messaging.send(ALICE_PHONE, "r1", f"m-{i}", TEXT)
    world.persist()
    world.gateway.sent.clear()
    world.sync.sync(BOB, "r1", 2, None)
    (frame,) = frames_to(world, "c-bob")
    assert [m["seq"] for m in frame["messages"]] == [3, 4, 5, 6]
    assert frame["messages"][0] == sent(world, ALICE_PHONE, "m-2").to_wire()
    assert (frame["hasMore"], frame["final"]) == (False, True)


def test_sync_pages_with_has_more(world: World) -> None:
    for i in range(6):
        world.messaging.send(ALICE_PHONE, "r1", f"m-{i}", TEXT)
    world.persist()
    world.gateway.sent.clear()
    world.sync.sync(BOB, "r1", 0, 4)
    (frame,) = frames_to(world, "c-bob")
    assert [m["seq"] for m in frame["messages"]] == [1, 2, 3, 4]
    assert frame["hasMore"] is True


def test_sync_serves_only_what_is_stored(world: World) -> None:
    world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    world.gateway.sent.clear()
    world.sync.sync(BOB, "r1", 0, None)  # acked, not yet persisted
    assert [f["messages"] for f in frames_to(world, "c-bob")] == [[]]
    assert synced(world, BOB, "r1", 0) == [1]


def test_a_reader_never_moves_past_a_seq_whose_send_is_retried(world: World) -> None:
    """The issue's case: alice's A1 took seq 1 and failed; bob's seq 2 is acked; a reader
    syncing now must not get a cursor past 1, or alice's resend would never reach it."""
    world.log.down = True
    with pytest.raises(ChatError):
        world.messaging.send(ALICE_PHONE, "r1", "A1", TEXT)
    world.log.down = False
    assert world.messaging.send(BOB, "r1", "B1", TEXT).ack["seq"]
    assert synced(world, BOB, "r1", 0) == []  # seq 1 is still on its way
    ack = world.messaging.send(ALICE_PHONE, "r1", "A1", TEXT).ack
    assert ack is not None
    assert ack["seq"] == 1
    assert synced(world, BOB, "r1", 0) == [1]  # and the reader asked for seq 2 to be told
    assert synced(world, BOB, "r1", 1) == [2]


def test_a_send_given_up_is_skipped_and_its_late_resend_gets_a_fresh_seq(world: World) -> None:
    world.log.down = True
    with pytest.raises(ChatError):
        world.messaging.send(ALICE_PHONE, "r1", "A1", TEXT)
    first = sent(world, ALICE_PHONE, "A1")
    world.log.down = False
    world.messaging.send(BOB, "r1", "B1", TEXT)
    world.ledger.give_up("r1")  # the abandon window passed
    assert synced(world, BOB, "r1", 0) == []  # the reader asks for the stable seq...
    assert synced(world, BOB, "r1", 0) == [2]  # ...which the next persist batch brings
    ack = world.messaging.send(ALICE_PHONE, "r1", "A1", TEXT).ack
    assert ack is not None
    assert (ack["messageId"], ack["seq"]) == (first.message_id, 3)  # same message, new seq
    assert synced(world, BOB, "r1", 2) == [3]


def test_a_claim_belongs_to_its_room(world: World) -> None:
    """A send refused in r1, resent to r2 after its sender left r1, is a new message in r2
    and never lands in r1 (G6)."""
    world.rooms_by_id["r2"] = {"alice", "bob"}
    world.directory.rooms["r2"] = frozenset({"alice", "bob"})
    world.log.down = True
    with pytest.raises(ChatError):
        world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    world.log.down = False
    world.cache.rooms["r1"] = frozenset({"bob"})  # alice was removed from r1
    with pytest.raises(ChatError) as refused:
        world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT)
    assert refused.value.code is ErrorCode.NOT_A_MEMBER
    ack = world.messaging.send(ALICE_PHONE, "r2", "m-1", TEXT).ack
    assert ack is not None
    assert ack["roomId"] == "r2"
    assert [(r.key, json.loads(r.value)["roomId"]) for r in world.log.records] == [("r2", "r2")]


def test_an_ack_stands_when_redis_fails_after_the_log_took_the_message(world: World) -> None:
    def redis_down(claim: object) -> None:
        raise ConnectionError("redis went away")

    world.ledger.confirm = redis_down  # type: ignore[method-assign]
    ack = world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack
    assert ack is not None
    assert ack["seq"] == 1
    assert len(world.log.records) == 1
    assert frames_to(world, "c-bob") != []


def test_sync_frames_stay_under_the_frame_budget() -> None:
    big = {"type": "text", "text": "x" * 3000}
    messages = [Message(f"id{i}", "r", i, "a", f"c{i}", big, "t") for i in range(1, 101)]
    changed = [Message(f"old{i}", "r", i, "a", f"o{i}", big, "t") for i in range(1, 11)]
    frames = list(sync_frames("r", Slice(messages, changed, 130, has_more=False)))
    assert len(frames) > 1
    assert all(len(json.dumps(f).encode()) < MAX_SYNC_FRAME_BYTES + 4096 for f in frames)
    assert [m["seq"] for f in frames for m in f["messages"]] == list(range(1, 101))
    # Updates first: a first frame that holds them all covers up to its last message.
    assert [m["messageId"] for m in frames[0]["updates"]] == [m.message_id for m in changed]
    assert [f["final"] for f in frames] == [False] * (len(frames) - 1) + [True]
    assert frames[-1]["upToSeq"] == 130  # the cursor: changes take seqs too


def test_an_ack_stands_when_live_delivery_fails_after_the_log_took_the_message(
    world: World,
) -> None:
    def redis_down(user_ids: object) -> dict[str, list[str]]:
        raise ConnectionError("redis went away")

    world.registry.connections_of = redis_down  # type: ignore[method-assign]
    ack = world.messaging.send(ALICE_PHONE, "r1", "m-1", TEXT).ack
    assert ack == sent(world, ALICE_PHONE, "m-1").ack()
    assert len(world.log.records) == 1


def test_a_user_has_at_most_so_many_open_connections(world: World) -> None:
    for i in range(3):  # the fixture's limit is 3
        world.connections.connect(Caller("carol", f"c-carol-{i}"))
    with pytest.raises(ChatError) as refused:
        world.connections.connect(Caller("carol", "c-carol-3"))
    assert refused.value.code is ErrorCode.TOO_MANY_CONNECTIONS
    assert "c-carol-3" not in world.registry.user_of  # refused, and not left registered
    world.connections.connect(Caller("dave", "c-dave"))  # others are not affected


def test_connection_attempts_are_limited_per_user(world: World) -> None:
    for i in range(10):  # the connect bucket's burst
        world.connections.connect(Caller("erin", f"c-{i}"))
        world.connections.disconnect(f"c-{i}")
    with pytest.raises(ChatError) as refused:
        world.connections.connect(Caller("erin", "c-10"))
    assert refused.value.code is ErrorCode.RATE_LIMITED
    assert refused.value.retry_after is not None


def test_a_small_sync_frame_cannot_buy_megabytes_beyond_the_users_rate(world: World) -> None:
    big = {"type": "text", "text": "x" * 3000}
    for i in range(100):
        world.messaging.send(ALICE_PHONE, "r1", f"m-{i}", big)
    world.persist()
    world.gateway.sent.clear()
    world.sync.sync(BOB, "r1", 0, None)
    assert len(frames_to(world, "c-bob")) > 1  # the whole page: several ~96 KB frames
    world.gateway.sent.clear()
    world.limiter.taken[("bob", "frames")] = world.limits.user_frames.burst  # out of tokens
    world.sync.sync(BOB, "r1", 0, None)
    (frame,) = frames_to(world, "c-bob")  # only the first frame...
    assert (frame["final"], frame["hasMore"]) == (True, True)  # ...and page on later
    assert frame["messages"][0]["seq"] == 1


def test_a_first_frame_alone_never_moves_the_cursor_past_what_it_holds() -> None:
    big = {"type": "text", "text": "x" * 3000}
    many = [Message(f"old{i}", "r", i, "a", f"o{i}", big, "t") for i in range(1, 49)]
    fresh = [Message(f"id{i}", "r", i, "a", f"c{i}", big, "t") for i in range(50, 60)]
    fits = len(next(iter(sync_frames("r", Slice([], many, 70, has_more=False))))["updates"])
    updates = many[:fits]
    page = Slice(fresh, updates, 70, has_more=False)
    first = next(iter(sync_frames("r", page)))
    # The updates fill the first frame exactly: no message in it.
    assert (len(first["updates"]), first["messages"]) == (fits, [])
    assert first_frame_only(first, page, 10, caught_up=True)["upToSeq"] == 49
    crowded = Slice(fresh, many, 70, has_more=False)
    partial = next(iter(sync_frames("r", crowded)))
    assert first_frame_only(partial, crowded, 10, caught_up=True)["upToSeq"] == 10
    small = Slice(fresh[:2], [], 70, has_more=False)
    alone = next(iter(sync_frames("r", small)))
    assert first_frame_only(alone, small, 10, caught_up=True)["upToSeq"] == 70
