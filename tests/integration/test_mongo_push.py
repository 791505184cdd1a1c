"""The push adapters (devices, preferences, the pushes-sent ledger) against the real
wire-protocol server (FerretDB), with the indexes the app ensures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from mayachat.adapters.mongo_push import MongoDevices, MongoPushLedger, MongoPushPreferences
from mayachat.adapters.mongo_schema import ensure_indexes
from mayachat.push import Device, Platform


@pytest.fixture
def db(mongodb_uri: str) -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    database = client[f"test_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    yield database
    client.drop_database(database.name)
    client.close()


def _phone(user: str, token: str, device: str = "phone") -> Device:
    return Device(user, device, Platform.FCM, token)


def test_a_token_registered_again_moves_and_is_never_copied(db: Database[dict[str, Any]]) -> None:
    devices = MongoDevices(db)
    devices.register(_phone("alice", "t1"))
    devices.set_endpoint(_phone("alice", "t1"), "arn:endpoint/t1")
    moved = devices.register(_phone("bob", "t1"))  # the phone, signed in as bob now
    assert (moved.user_id, moved.endpoint) == ("bob", "arn:endpoint/t1")  # one token, one endpoint
    assert devices.of_users(["alice", "bob"]) == {"bob": [moved]}


def test_a_device_with_a_new_token_keeps_only_the_new_one(db: Database[dict[str, Any]]) -> None:
    devices = MongoDevices(db)
    devices.register(_phone("alice", "old"))
    devices.register(Device("alice", "tablet", Platform.APNS, "tab"))
    devices.register(_phone("alice", "new"))
    found = devices.of_users(["alice"])["alice"]
    assert [(d.device_id, d.token) for d in found] == [("phone", "new"), ("tablet", "tab")]
    assert devices.remove("alice", "tablet")
    assert not devices.remove("alice", "tablet")
    assert [d.token for d in devices.of_users(["alice"])["alice"]] == ["new"]


def test_forgetting_a_device_leaves_a_token_that_moved_to_someone_else(
    db: Database[dict[str, Any]],
) -> None:
    devices = MongoDevices(db)
    stale = devices.register(_phone("alice", "t1"))
    devices.register(_phone("bob", "t1"))
    devices.forget(stale)  # alice's push failed: the token is bob's now
    assert [d.user_id for d in devices.of_users(["bob"])["bob"]] == ["bob"]
    devices.forget(_phone("bob", "t1"))
    assert devices.of_users(["bob"]) == {}


def test_preferences_mute_until_a_time_or_for_ever_and_unmute(
    db: Database[dict[str, Any]],
) -> None:
    preferences = MongoPushPreferences(db)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    preferences.mute("alice", "r1", until)
    preferences.mute("alice", "r2", None)
    preferences.set_preview("alice", False)
    got = preferences.of_users(["alice", "bob"])
    assert list(got) == ["alice"]
    assert (got["alice"].show_preview, dict(got["alice"].muted)) == (
        False,
        {"r1": until, "r2": None},
    )
    preferences.unmute("alice", "r1")
    assert dict(preferences.of_users(["alice"])["alice"].muted) == {"r2": None}


def test_a_push_is_claimed_once_and_a_released_one_can_be_claimed_again(
    db: Database[dict[str, Any]],
) -> None:
    ledger = MongoPushLedger(db)
    phone = _phone("bob", "t1")
    assert ledger.claim("m1", phone)
    assert not ledger.claim("m1", phone)
    assert ledger.claim("m1", _phone("bob", "t2"))  # another device: its own push
    ledger.release("m1", phone)
    assert ledger.claim("m1", phone)
