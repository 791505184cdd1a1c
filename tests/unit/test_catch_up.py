"""Catching up over REST (mayachat.catch_up), on fakes: never past the stable seq, unread
counts without the reader's own messages, statistics computed once per TTL, receipts only
in the caller's rooms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mayachat.errors import NotFound
from mayachat.model import Cursor, Message, ReceiptKind, Room, RoomType
from tests.fakes import World


@pytest.fixture
def world() -> World:
    w = World(rooms_by_id={"r1": {"alice", "bob"}})
    w.store.create(
        Room("r1", RoomType.GROUP, ("alice", "bob"), "alice", datetime(2026, 1, 1, tzinfo=UTC))
    )
    return w


def message(seq: int, sender: str = "bob", room: str = "r1") -> Message:
    return Message(f"m{seq:025d}", room, seq, sender, f"c{seq}", {"type": "text", "text": "x"}, "")


def test_a_page_never_goes_past_the_stable_seq(world: World) -> None:
    world.store.store(*(message(s) for s in range(1, 6)))
    world.store.messages["late"] = message(6)  # stored out of order: 6 is not stable yet
    page = world.catch_up.page("alice", "r1", before=None, after=None, limit=10)
    assert [m.seq for m in page.items] == [5, 4, 3, 2, 1]
    after = world.catch_up.page("alice", "r1", before=None, after=3, limit=10)
    assert [m.seq for m in after.items] == [4, 5]


def test_pages_carry_the_cursor_of_the_next_one(world: World) -> None:
    world.store.store(*(message(s) for s in range(1, 6)))
    first = world.catch_up.page("alice", "r1", before=None, after=None, limit=2)
    assert ([m.seq for m in first.items], first.has_more, first.cursor) == (
        [5, 4],
        True,
        {"before": 4},
    )
    last = world.catch_up.page("alice", "r1", before=2, after=None, limit=2)
    assert ([m.seq for m in last.items], last.has_more, last.cursor) == ([1], False, None)


def test_unread_counts_leave_out_what_was_read_and_what_the_reader_sent(world: World) -> None:
    world.store.store(message(1), message(2), message(3, sender="alice"), message(4))
    world.store.cursors_of[("alice", "r1")] = Cursor(read_up_to_seq=1)
    counts, messages = world.catch_up.unread("alice", limit=10)
    assert counts == {"r1": 2}
    assert [m.seq for m in messages] == [2, 4]


def test_statistics_run_once_while_cached(world: World) -> None:
    world.store.store(message(1), message(2, sender="alice"))
    first = world.catch_up.stats("alice", "r1")
    again = world.catch_up.stats("bob", "r1")
    assert world.store.stats_runs == 1
    assert first["perSender"] == again["perSender"] == {"bob": 1, "alice": 1}
    assert (first["unreadCount"], again["unreadCount"]) == (1, 1)  # each reader's own


def test_a_room_the_caller_is_not_in_looks_absent(world: World) -> None:
    world.store.store(message(1))
    with pytest.raises(NotFound):
        world.catch_up.page("mallory", "r1", before=None, after=None, limit=10)
    with pytest.raises(NotFound):
        world.catch_up.stats("mallory", "r1")
    with pytest.raises(NotFound):
        world.catch_up.set_status("mallory", message(1).message_id, ReceiptKind.READ)
    assert world.log.records == []  # nothing marked


def test_marking_messages_moves_each_rooms_cursor_to_the_newest_given(world: World) -> None:
    world.store.store(message(1), message(2), message(3))
    world.ledger.counters["r1"] = 3  # the send path's seqs
    marked = world.catch_up.mark_messages(
        "alice", ReceiptKind.DELIVERED, [message(1).message_id, message(3).message_id]
    )
    assert marked == {"r1": 3}
    assert world.cursors.position("r1", "alice", ReceiptKind.DELIVERED) == 3
