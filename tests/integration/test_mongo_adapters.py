"""The MongoDB adapters against the real wire-protocol server (FerretDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from mayachat.adapters.mongo_archive import MongoMessageArchive
from mayachat.adapters.mongo_rooms import MongoRooms
from mayachat.adapters.mongo_schema import (
    MESSAGES,
    ROOMS,
    document_to_message,
    ensure_indexes,
    message_to_document,
)
from mayachat.adapters.mongo_seq_blocks import MongoSeqReservations
from mayachat.model import Message, Room, RoomType
from mayachat.ports import Slice


@pytest.fixture
def db(mongodb_uri: str) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    database = client[f"test_{uuid.uuid4().hex[:10]}"]
    yield database
    client.drop_database(database.name)
    client.close()


def test_rooms_know_their_members(db: Database[dict[str, Any]]) -> None:
    rooms = MongoRooms(db)
    room = Room("r1", RoomType.GROUP, ("bob", "alice"), "alice", datetime.now(UTC))
    assert rooms.create(room)
    assert not rooms.create(room)  # the id is taken: nothing changes
    assert rooms.members("r1") == (frozenset({"alice", "bob"}), 0)
    assert rooms.members("nope") is None
    added = rooms.add_members("r1", ["carol"], version=5)
    assert added is not None
    assert (set(added.members), added.members_version) == ({"alice", "bob", "carol"}, 5)
    removed = rooms.remove_member("r1", "alice", {"bob": "owner"}, version=6)
    assert removed is not None
    assert (removed.roles, rooms.members("r1")) == (
        {"bob": "owner"},
        (frozenset({"bob", "carol"}), 6),
    )
    assert rooms.set_roles("nope", {}, version=7) is None


def test_concurrent_block_claims_never_hand_out_a_block_twice(
    db: Database[dict[str, Any]],
) -> None:
    ensure_indexes(db)
    reservations = MongoSeqReservations(db)
    with ThreadPoolExecutor(8) as pool:
        blocks = list(pool.map(lambda _: reservations.claim_block("r1"), range(60)))
    assert sorted(blocks) == list(range(60))
    assert reservations.claim_block("r2") == 0
    assert reservations.claim_block("r1") == 60


def test_indexes_are_created_idempotently_and_retired_ones_dropped(
    db: Database[dict[str, Any]],
) -> None:
    # An earlier version's index: a clientMsgId reused later must not be dropped as a copy.
    db[MESSAGES].create_index(
        [("senderId", 1), ("clientMsgId", 1)], unique=True, name="sender_client_msg_unique"
    )
    ensure_indexes(db)
    ensure_indexes(db)
    names = set(db[MESSAGES].index_information())
    assert "room_seq_unique" in names
    assert "sender_client_msg_unique" not in names


def test_messages_round_trip_and_the_archive_pages_by_seq(
    db: Database[dict[str, Any]],
) -> None:
    originals = [
        Message(
            f"id{i:03}",
            "r1",
            i,
            "alice",
            f"c{i}",
            {"type": "text", "text": "é"},
            f"2026-11-26T12:00:{i:02}.123Z",
        )
        for i in range(1, 31)
    ]
    db[MESSAGES].insert_many([message_to_document(m) for m in originals])
    db[MESSAGES].insert_one(
        message_to_document(
            Message(
                "other",
                "r2",
                5,
                "bob",
                "x",
                {"type": "text", "text": "no"},
                "2026-11-26T12:00:00.000Z",
            )
        )
    )
    assert document_to_message(db[MESSAGES].find_one({"_id": "id001"}) or {}) == originals[0]
    archive = MongoMessageArchive(db)
    nothing = Slice([], [], 10, has_more=False)
    assert archive.after("r1", 10, 5) == (nothing, 0)  # no stable seq yet: nothing is served
    db[ROOMS].insert_one({"_id": "r1", "members": ["alice"], "stableSeq": 13})
    # Never past the stable seq; the slice covers up to it.
    assert archive.after("r1", 10, 5) == (Slice(originals[10:13], [], 13, has_more=False), 13)
    db[ROOMS].update_one({"_id": "r1"}, {"$set": {"stableSeq": 30}})
    assert archive.after("r1", 10, 5) == (Slice(originals[10:15], [], 15, has_more=True), 30)
