"""Round trips through the real local MongoDB wire-protocol server (FerretDB on SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError


@pytest.fixture
def collection(mongodb_uri: str) -> Iterator[Collection[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    db = client[f"test_{uuid.uuid4().hex[:10]}"]
    yield db["messages"]
    client.drop_database(db.name)
    client.close()


def test_unordered_insert_many_stores_all_but_the_repeated_id(
    collection: Collection[dict[str, Any]],
) -> None:
    collection.insert_one({"_id": "m2", "text": "first"})
    docs = [{"_id": f"m{i}", "text": f"msg {i}"} for i in range(1, 5)]
    with pytest.raises(BulkWriteError) as caught:
        collection.insert_many(docs, ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 3
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000)]
    assert collection.count_documents({}) == 4
    assert collection.find_one({"_id": "m2"}) == {"_id": "m2", "text": "first"}


def test_a_unique_compound_index_refuses_a_second_room_seq(
    collection: Collection[dict[str, Any]],
) -> None:
    index = collection.create_index([("roomId", ASCENDING), ("seq", ASCENDING)], unique=True)
    # Creating it again is a no-op: indexes are ensured at every cold start.
    assert (
        collection.create_index([("roomId", ASCENDING), ("seq", ASCENDING)], unique=True) == index
    )
    collection.insert_one({"_id": "a", "roomId": "r1", "seq": 1})
    collection.insert_one({"_id": "b", "roomId": "r2", "seq": 1})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": "c", "roomId": "r1", "seq": 1})
    assert collection.index_information()[index]["unique"] is True


def test_find_uses_sort_and_limit_on_the_server(collection: Collection[dict[str, Any]]) -> None:
    collection.insert_many([{"_id": i, "roomId": "r", "seq": i} for i in range(1, 21)])
    page = list(collection.find({"roomId": "r", "seq": {"$gt": 15}}).sort("seq", -1).limit(3))
    assert [d["seq"] for d in page] == [20, 19, 18]
