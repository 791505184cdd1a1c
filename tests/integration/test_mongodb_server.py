"""Round trips through the real local MongoDB wire-protocol server (FerretDB v1, on the
backend the stack is configured with: PostgreSQL by default)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from mayachat_local.config import StackConfig
from mayachat_local.services.postgres import PostgresService


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


@pytest.fixture
def on_postgresql(stack_config: StackConfig) -> PostgresService:
    if stack_config.mongodb_backend != "postgresql":
        pytest.skip("MAYACHAT_MONGODB_BACKEND=sqlite: every find scans, there is no index to use")
    return PostgresService(stack_config)


def _plan(collection: Collection[dict[str, Any]], query: dict[str, Any]) -> dict[str, Any]:
    explain: dict[str, Any] = collection.database.command(
        "explain", {"find": collection.name, "filter": query, "sort": {"seq": -1}, "limit": 5}
    )
    return explain


def test_an_equality_filter_is_answered_from_an_index(
    collection: Collection[dict[str, Any]], on_postgresql: PostgresService
) -> None:
    collection.create_index([("roomId", ASCENDING), ("seq", ASCENDING)], unique=True)
    collection.insert_many([{"_id": f"m{i}", "roomId": f"r{i % 50}", "seq": i} for i in range(500)])
    for query in ({"roomId": "r7"}, {"_id": "m7"}):
        plan = _plan(collection, query)
        assert plan["filterPushdown"] is True, plan
        text = str(plan["queryPlanner"])
        assert "mayachat_eq_" in text, f"{query}: not from the index mirror: {text[:400]}"
    page = list(collection.find({"roomId": "r7"}).sort("seq", -1).limit(3))
    assert [d["seq"] for d in page] == [457, 407, 357]


def _sql(postgres: PostgresService, query: str) -> str:
    result = subprocess.run(
        [*postgres.psql(), "-tAc", query], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_indexes_made_before_the_mirror_get_one_at_the_next_start(
    collection: Collection[dict[str, Any]], on_postgresql: PostgresService
) -> None:
    collection.create_index([("userId", ASCENDING)])
    collection.insert_one({"_id": "x", "userId": "u"})
    # The schema is this test's own generated database name.
    mirror = (
        "SELECT schemaname || '.' || indexname FROM pg_indexes "  # noqa: S608
        f"WHERE schemaname = '{collection.database.name}' AND indexname LIKE 'mayachat_eq_%' "
        "AND indexdef LIKE '%''userId''%'"
    )
    made = _sql(on_postgresql, mirror)
    assert made, "the event trigger made no mirror of the new index"
    _sql(on_postgresql, f"DROP INDEX {made}")
    assert _sql(on_postgresql, mirror) == ""
    on_postgresql.after_start(print)  # what every start of the stack runs
    assert _sql(on_postgresql, mirror) == made
