"""Edits, deletions and reactions against the real servers: MongoDB (FerretDB here) applies
them newest-wins, a deletion for good, and catch-up slices find them by seq; Redis keeps each
message's facts from its send on, single node and cluster alike."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.mongo_archive import read_slice
from mayachat.adapters.mongo_reads import MongoChatReads
from mayachat.adapters.mongo_store import MongoMessageStore
from mayachat.adapters.redis_message_states import RedisMessageStates
from mayachat.message_actions import facts_of
from mayachat.model import DELETED_CONTENT, Change, ChangeKind
from mayachat.ports import ChangeOutcome
from tests.integration.test_mongo_store import db, message  # noqa: F401 - the fixture
from tests.integration.test_redis_sequences import (
    CountingReservations,
    client,  # noqa: F401 - the fixture
    draft,
    ledger,
    uid,
)

APPLIED, NOT_YET = ChangeOutcome.APPLIED, ChangeOutcome.NOT_YET


def _edit(message_id: str, seq: int, text: str) -> Change:
    return Change(
        ChangeKind.EDIT, "r1", message_id, "alice", seq, content={"type": "text", "text": text}
    )


def _react(message_id: str, seq: int, user: str, emoji: str, added: bool = True) -> Change:
    return Change(ChangeKind.REACT, "r1", message_id, user, seq, emoji=emoji, added=added)


def test_newest_wins_whatever_order_and_repeats_changes_come_in(
    db: Database[dict[str, Any]],  # noqa: F811
) -> None:
    store, reads = MongoMessageStore(db), MongoChatReads(db)
    first = message(1)
    store.store_messages([first])
    assert store.apply_changes([_edit(first.message_id, 3, "newer")]) == [APPLIED]
    assert (
        store.apply_changes(
            [_edit(first.message_id, 2, "older"), _edit(first.message_id, 3, "newer")]
        )
        == [APPLIED] * 2
    )
    reacts = [
        _react(first.message_id, 4, "bob", "👍"),
        _react(first.message_id, 5, "carol", "👍"),
        _react(first.message_id, 7, "bob", "👍", added=False),
        _react(first.message_id, 6, "bob", "👍"),  # late: the removal at 7 is newer
        _react(first.message_id, 8, "alice.smith", "🎉"),  # a dot in a user id
    ]
    assert store.apply_changes(reacts) == [APPLIED] * 5
    now = reads.message(first.message_id)
    assert now is not None
    assert now.content == {"type": "text", "text": "newer"}
    assert (now.version, now.edited_at is not None) == (8, True)
    assert now.reactions == {"👍": ["carol"], "🎉": ["alice.smith"]}
    room = db["rooms"].find_one({"_id": "r1"})
    assert room is not None
    assert room["lastMessage"]["content"]["text"] == "newer"  # the summary follows the edit


def test_a_deletion_leaves_a_tombstone_and_nothing_undoes_it(
    db: Database[dict[str, Any]],  # noqa: F811
) -> None:
    store, reads = MongoMessageStore(db), MongoChatReads(db)
    first = message(1)
    store.store_messages([first])
    store.apply_changes([_react(first.message_id, 2, "bob", "😮")])
    delete = Change(ChangeKind.DELETE, "r1", first.message_id, "alice", 3)
    assert (
        store.apply_changes([delete, _edit(first.message_id, 4, "back"), delete]) == [APPLIED] * 3
    )
    store.apply_changes([_react(first.message_id, 5, "bob", "👍")])
    store.store_messages([first])  # the message's record delivered again
    gone = reads.message(first.message_id)
    assert gone is not None
    assert (gone.content, gone.deleted, gone.reactions) == (DELETED_CONTENT, True, {})
    assert "#1" not in str(db["messages"].find_one({"_id": first.message_id}))
    assert "#1" not in str(db["rooms"].find_one({"_id": "r1"}))
    assert reads.unread_counts("bob", {"r1": (0, 5)}) == {}  # nothing left to read
    assert store.apply_changes([_edit("01JD" + "9" * 22, 6, "x")]) == [NOT_YET]


def test_a_slice_has_new_messages_and_the_older_ones_changes_changed(
    db: Database[dict[str, Any]],  # noqa: F811
) -> None:
    store = MongoMessageStore(db)
    one, two, four = message(1), message(2), message(4)
    store.store_messages([one, two])
    store.apply_changes([_edit(one.message_id, 3, "one, edited")])
    store.store_messages([four])
    store.apply_changes(
        [_react(two.message_id, 5, "bob", "👍"), _react(one.message_id, 6, "bob", "👍")]
    )
    part = read_slice(db, "r1", 2, 6, limit=10)
    assert [m.seq for m in part.messages] == [4]
    assert [m.message_id for m in part.updates] == [one.message_id, two.message_id]
    assert (part.last_seq, part.has_more) == (6, False)
    first_two = read_slice(db, "r1", 2, 6, limit=2)  # seq 3 (a change of 1) and 4
    assert ([m.seq for m in first_two.messages], first_two.last_seq) == ([4], 4)
    assert [m.message_id for m in first_two.updates] == [one.message_id]
    assert first_two.has_more


def test_redis_knows_a_message_from_its_send_on_and_again_once_seeded(client: Redis) -> None:  # noqa: F811
    room = uid("room")
    seqs = ledger(client, CountingReservations())
    claim = seqs.claim(draft(room, "cmid-1"))
    seqs.confirm(claim)
    states = RedisMessageStates(client, ttl_seconds=60)
    begun = states.begin(room, claim.message.message_id)
    assert begun is not None
    assert (begun.facts.sender_id, begun.facts.content_type, begun.facts.deleted) == (
        "alice",
        "text",
        False,
    )
    react = Change(
        ChangeKind.REACT, room, claim.message.message_id, "bob", seqs.take(room).seq, emoji="👍"
    )
    assert states.apply(react, begun.facts) == {"👍": 1}
    older = Change(
        ChangeKind.REACT,
        room,
        claim.message.message_id,
        "bob",
        react.version - 1,
        emoji="👍",
        added=False,
    )
    assert states.apply(older, begun.facts) == {"👍": 1}  # late: the add is newer
    delete = Change(ChangeKind.DELETE, room, claim.message.message_id, "alice", seqs.take(room).seq)
    states.apply(delete, begun.facts)
    after = states.begin(room, claim.message.message_id)
    assert after is not None
    assert (after.facts.deleted, after.facts.reactions) == (True, {})
    kept = client.hget(keys.send_claim(room, "alice", "cmid-1"), "m")
    assert kept is not None
    assert b"cmid-1" in kept  # the claim is still there for resends' acks...
    assert b'"text":"cmid-1"' not in kept  # ...but not what it said
    # Lost (expired, flushed): unknown until seeded from what MongoDB holds.
    client.delete(keys.message_state(room, claim.message.message_id))
    assert states.begin(room, claim.message.message_id) is None
    states.seed(room, claim.message.message_id, facts_of(claim.message))
    seeded = states.begin(room, claim.message.message_id)
    assert seeded is not None
    assert seeded.facts.sender_id == "alice"


def test_changes_take_seqs_that_count_in_the_stable_seq(client: Redis) -> None:  # noqa: F811
    room = uid("room")
    seqs = ledger(client, CountingReservations())
    claim = seqs.claim(draft(room))
    seqs.confirm(claim)
    ticket = seqs.take(room)
    assert ticket.seq == claim.message.seq + 1
    assert ticket.stable_once_logged() == ticket.seq  # every lower seq was settled
    assert seqs.lag(room, 0).publish == claim.message.seq  # pending: the stable seq waits
    client.delete(keys.room_publish_guard(room))  # (asked a moment ago: published once a second)
    seqs.settle(room, ticket)
    assert seqs.lag(room, claim.message.seq).publish == ticket.seq
