"""The persist writes against the real MongoDB wire-protocol server (FerretDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from mayachat.adapters.mongo_rooms import MongoRooms
from mayachat.adapters.mongo_schema import CURSORS, MESSAGES, ROOMS, ensure_indexes
from mayachat.adapters.mongo_store import MongoMessageStore
from mayachat.model import Message, Receipt, ReceiptKind, Room, RoomType
from mayachat.ports import StoreOutcome

S, D, C, F = (
    StoreOutcome.STORED,
    StoreOutcome.DUPLICATE,
    StoreOutcome.CONFLICT,
    StoreOutcome.FAILED,
)


@pytest.fixture
def db(mongodb_uri: str) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    database = client[f"test_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    MongoRooms(database).create(
        Room("r1", RoomType.GROUP, ("alice", "bob"), "alice", datetime.now(UTC))
    )
    yield database
    client.drop_database(database.name)
    client.close()


def message(
    seq: int, sender: str = "alice", client_msg_id: str | None = None, message_id: str | None = None
) -> Message:
    return Message(
        message_id or f"01JD{seq:022d}",
        "r1",
        seq,
        sender,
        client_msg_id or f"c{seq}",
        {"type": "text", "text": f"#{seq}"},
        f"2026-11-26T12:00:{seq % 60:02d}.000Z",
    )


def test_the_same_batch_three_times_leaves_one_copy_of_each(
    db: Database[dict[str, Any]],
) -> None:
    store = MongoMessageStore(db)
    batch = [message(i) for i in range(1, 21)]
    assert store.store_messages(batch) == [S] * 20
    assert store.store_messages(batch) == [D] * 20
    assert store.store_messages([*batch[5:], message(21)]) == [D] * 15 + [S]
    assert db[MESSAGES].count_documents({"roomId": "r1"}) == 21


def test_duplicates_and_conflicts_are_told_apart(db: Database[dict[str, Any]]) -> None:
    store = MongoMessageStore(db)
    store.store_messages([message(1), message(2)])
    # The same clientMsgId again, as a new message (after the idempotency window): stored.
    reused = message(3, client_msg_id="c1", message_id="01JDREUSEDREUSEDREUSEDREUS")
    seq_taken = message(2, sender="bob", client_msg_id="b2", message_id="01JDIMPOSTORIMPOSTORIMPOS")
    fresh = message(4)
    assert store.store_messages([reused, seq_taken, fresh]) == [S, C, S]
    assert db[MESSAGES].count_documents({}) == 4


@pytest.mark.parametrize("order", ["first seq first", "fresh seq first"])
def test_a_message_resent_under_a_fresh_seq_ends_at_that_seq(
    db: Database[dict[str, Any]], order: str
) -> None:
    """Its first seq was given up (the log may still have taken it): its ack names the fresh
    one, so that is where it is stored, whichever copy persist sees first."""
    store = MongoMessageStore(db)
    given_up, fresh = message(1), message(5, message_id=message(1).message_id)
    copies = [given_up, fresh] if order == "first seq first" else [fresh, given_up]
    for copy in copies:
        store.store_messages([copy])
    stored = list(db[MESSAGES].find({"_id": given_up.message_id}, {"seq": 1}))
    assert [d["seq"] for d in stored] == [5]


def test_the_stable_seq_only_rises_and_needs_the_room(db: Database[dict[str, Any]]) -> None:
    store = MongoMessageStore(db)
    assert store.raise_stable({"r1": 7, "no-such-room": 3})
    assert store.raise_stable({"r1": 4})
    assert db[ROOMS].find_one({"_id": "r1"})["stableSeq"] == 7  # type: ignore[index]
    assert db[ROOMS].find_one({"_id": "no-such-room"}) is None


def test_room_summary_follows_the_newest_message_only(db: Database[dict[str, Any]]) -> None:
    store = MongoMessageStore(db)
    store.store_messages([message(5), message(3)])
    store.store_messages([message(4)])  # older than the summary: no change
    room = db[ROOMS].find_one({"_id": "r1"}) or {}
    assert room["lastSeq"] == 5
    assert room["lastMessage"]["messageId"] == message(5).message_id
    assert room["lastMessage"]["content"] == {"type": "text", "text": "#5"}


def test_receipts_never_move_a_cursor_backward(db: Database[dict[str, Any]]) -> None:
    store = MongoMessageStore(db)

    def receipt(seq: int, kind: ReceiptKind) -> Receipt:
        return Receipt("r1", "bob", kind, seq, at="2026-11-26T12:00:00.000Z")

    assert store.apply_receipts([receipt(8, ReceiptKind.READ)]) == [True]
    assert store.apply_receipts(
        [receipt(3, ReceiptKind.READ), receipt(5, ReceiptKind.DELIVERED)]
    ) == [True, True]
    cursor = db[CURSORS].find_one({"_id": "r1:bob"}) or {}
    assert (cursor["readUpToSeq"], cursor["deliveredUpToSeq"]) == (8, 8)
    assert store.apply_receipts([receipt(9, ReceiptKind.DELIVERED)]) == [True]
    cursor = db[CURSORS].find_one({"_id": "r1:bob"}) or {}
    assert (cursor["readUpToSeq"], cursor["deliveredUpToSeq"]) == (8, 9)


def test_an_unreachable_server_fails_the_batch_for_retry() -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(
        "mongodb://127.0.0.1:1/", serverSelectionTimeoutMS=300
    )
    store = MongoMessageStore(client["x"])
    assert store.store_messages([message(1), message(2)]) == [F, F]
    assert store.apply_receipts([Receipt("r1", "bob", ReceiptKind.READ, 1)]) == [False]


def test_refused_credentials_reconnect_with_fresh_ones(
    db: Database[dict[str, Any]], mongodb_uri: str
) -> None:
    """A rotated password: the cached client's credentials are refused. (FerretDB here runs
    without authentication, so the refusal is the one thing not real in this test.)"""
    from pymongo.errors import OperationFailure

    class RefusingDatabase:
        def __getitem__(self, name: str) -> Any:
            class Refusing:
                def __getattr__(self, _: str) -> Any:
                    def refuse(*args: Any, **kwargs: Any) -> None:
                        raise OperationFailure("Authentication failed.", code=18)

                    return refuse

            return Refusing()

    reconnects: list[int] = []

    def reconnect() -> Database[dict[str, Any]]:
        reconnects.append(1)
        return db

    store = MongoMessageStore(RefusingDatabase(), reconnect=reconnect)  # type: ignore[arg-type]
    assert store.store_messages([message(1)]) == [F]  # refused: retried later...
    assert reconnects == [1]
    assert store.store_messages([message(1)]) == [S]  # ...and stored by the same container
