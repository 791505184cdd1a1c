"""Presence's MongoDB adapter against the real wire-protocol server (FerretDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from mayachat.adapters.mongo_presence import MongoPresenceStore
from mayachat.adapters.mongo_schema import ROOMS, ensure_indexes
from mayachat.ports import PresenceProfile


@pytest.fixture
def db(mongodb_uri: str) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    database = client[f"test_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    yield database
    client.drop_database(database.name)
    client.close()


def test_hiding_and_last_seen_are_kept_and_last_seen_never_goes_back(
    db: Database[dict[str, Any]],
) -> None:
    store = MongoPresenceStore(db)
    assert store.profiles(["alice", "bob"]) == {}
    now = datetime(2026, 12, 2, 21, 0, 0, 123000, tzinfo=UTC)
    store.record_last_seen({"alice": now})
    store.record_last_seen({"alice": now - timedelta(minutes=5)})  # an older batch, redelivered
    store.set_hidden("bob", True)
    assert store.profiles(["alice", "bob", "carol"]) == {
        "alice": PresenceProfile(hidden=False, last_seen=now),
        "bob": PresenceProfile(hidden=True, last_seen=None),
    }
    store.set_hidden("bob", False)
    assert store.profiles(["bob"])["bob"].hidden is False


def test_the_rooms_a_user_shares(db: Database[dict[str, Any]]) -> None:
    db[ROOMS].insert_many(
        [
            {"_id": "r1", "members": ["alice", "bob"]},
            {"_id": "r2", "members": ["carol", "dave"]},
            {"_id": "r3", "members": ["dave", "alice"]},
        ]
    )
    store = MongoPresenceStore(db)
    assert store.rooms_with(["alice"]) == {"r1": ("alice", "bob"), "r3": ("dave", "alice")}
    assert store.rooms_with([]) == {}
