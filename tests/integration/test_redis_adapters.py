"""The Redis adapters against the real redis-server."""

from __future__ import annotations

import time
import uuid

import pytest
from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.redis_connections import (
    CONNECTION_TTL_SECONDS,
    PRESENCE_LIVENESS_MS,
    RedisConnectionRegistry,
)
from mayachat.adapters.redis_rate_limits import RedisRateLimiter
from mayachat.adapters.redis_rooms import RedisCursors, RedisMembershipCache
from mayachat.limits import Admission, Limit
from mayachat.model import ReceiptKind


@pytest.fixture
def client(redis_client: Redis) -> Redis:
    return redis_client


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_registry_tracks_several_devices_and_expires_with_the_connection_limit(
    client: Redis,
) -> None:
    registry = RedisConnectionRegistry(client)
    alice, bob = uid("alice"), uid("bob")
    registry.register("c1", alice)
    registry.register("c2", alice)
    registry.register("c3", bob)
    assert registry.connections_of([alice, bob, uid("nobody")]) == {
        alice: ["c1", "c2"],
        bob: ["c3"],
    }
    assert 0 < client.ttl(keys.connection("c1")) <= CONNECTION_TTL_SECONDS
    departure = registry.unregister("c1")
    assert departure is not None
    assert (departure.user_id, departure.went_offline) == (alice, False)  # c2 is still live
    assert registry.unregister("c1") is None
    assert registry.connections_of([alice]) == {alice: ["c2"]}
    registry.unregister("c2")
    registry.unregister("c3")


def test_a_gone_connection_leaves_its_user_even_after_its_own_entry_expired(
    client: Redis,
) -> None:
    registry = RedisConnectionRegistry(client)
    alice = uid("alice")
    registry.register("gone-1", alice)
    client.delete(keys.connection("gone-1"))  # its own entry expired
    assert registry.unregister("gone-1") is None  # $disconnect finds no user...
    registry.remove(alice, "gone-1")  # ...but the 410 knows whose it was
    assert registry.connections_of([alice]) == {}


def test_a_connection_silent_past_the_idle_timeout_is_not_live_and_its_time_is_kept(
    client: Redis,
) -> None:
    registry = RedisConnectionRegistry(client)
    alice = uid("alice")
    silent_since = int(time.time() * 1000) - PRESENCE_LIVENESS_MS - 60_000
    client.zadd(keys.user_connections(alice), {"ancient": silent_since})  # $disconnect lost
    assert registry.connections_of([alice]) == {}
    assert registry.seen([alice])[alice].last_seen_ms == silent_since
    arrival = registry.register("fresh", alice)
    assert arrival.came_online
    assert client.zrange(keys.user_connections(alice), 0, -1) == [b"fresh"]  # pruned...
    assert int(client.hget(keys.user_presence(alice), "lastSeen") or 0) == silent_since  # ...kept


def test_the_last_connection_out_is_a_change_and_its_time_the_last_seen(client: Redis) -> None:
    registry = RedisConnectionRegistry(client)
    alice = uid("alice")
    assert registry.register("phone", alice).live == 1
    assert registry.register("tablet", alice).live == 2
    assert registry.seen([alice])[alice].online
    phone = registry.unregister("phone")
    assert phone is not None
    assert not phone.went_offline
    tablet = registry.remove(alice, "tablet")  # found gone by a post (410)
    assert tablet.went_offline
    seen = registry.seen([alice])[alice]
    assert (seen.online, seen.last_seen_ms, seen.changed_at_ms) == (
        False,
        tablet.at_ms,
        tablet.at_ms,
    )
    registry.show({alice: "offline"})
    assert registry.seen([alice])[alice].shown == "offline"


def test_every_frame_is_a_heartbeat_and_a_goodbye_is_final(client: Redis) -> None:
    registry, limiter = RedisConnectionRegistry(client), RedisRateLimiter(client)
    alice = uid("alice")
    frames = [("frames", Limit(10, 1.0))]
    registry.register("phone", alice)
    client.zadd(keys.user_connections(alice), {"phone": 1})  # as if silent for ages
    assert registry.connections_of([alice]) == {}
    assert not limiter.admit(alice, frames, heartbeat="phone").restored
    assert registry.connections_of([alice]) == {alice: ["phone"]}  # live again
    registry.unregister("phone")
    # A frame still in flight when the socket closed does not bring it back.
    assert not limiter.admit(alice, frames, heartbeat="phone").restored
    assert registry.connections_of([alice]) == {}


def test_after_redis_lost_everything_the_next_frame_restores_the_connection(
    client: Redis,
) -> None:
    registry, limiter = RedisConnectionRegistry(client), RedisRateLimiter(client)
    alice = uid("alice")
    registry.register("phone", alice)
    client.delete(keys.user_connections(alice), keys.user_presence(alice), keys.connection("phone"))
    assert registry.seen([alice])[alice].online is False  # wrong until the phone's next frame
    admission = limiter.admit(alice, [("frames", Limit(10, 1.0))], heartbeat="phone")
    assert admission.restored
    registry.restore("phone", alice)  # what the frame gate does then
    assert registry.connections_of([alice]) == {alice: ["phone"]}
    departure = registry.unregister("phone")  # and its $disconnect finds it
    assert departure is not None
    assert departure.went_offline


def test_membership_cache_round_trip_and_fence(client: Redis) -> None:
    cache = RedisMembershipCache(client, ttl_seconds=60)
    room = uid("room")
    assert cache.get(room) is None
    assert cache.put(room, frozenset({"alice", "bob"}), version=1)
    assert cache.get(room) == frozenset({"alice", "bob"})
    assert cache.put(room, frozenset({"alice"}), version=1)  # a put replaces, never merges
    assert cache.get(room) == frozenset({"alice"})
    cache.fence(room, version=5)  # a change to version 5 is on its way
    assert cache.get(room) is None
    assert not cache.put(room, frozenset({"alice", "mallory"}), version=4)  # read before it
    assert cache.get(room) is None
    assert cache.put(room, frozenset({"alice"}), version=5)
    assert cache.get(room) == frozenset({"alice"})


def test_cursors_never_move_backwards(client: Redis) -> None:
    cursors = RedisCursors(client)
    room, user = uid("room"), "bob"
    assert cursors.position(room, user, ReceiptKind.READ) is None
    assert cursors.advance(room, user, ReceiptKind.READ, 5)
    assert not cursors.advance(room, user, ReceiptKind.READ, 3)
    assert not cursors.advance(room, user, ReceiptKind.READ, 5)
    assert cursors.position(room, user, ReceiptKind.READ) == 5
    assert cursors.position(room, user, ReceiptKind.DELIVERED) is None


def test_rate_limiter_takes_from_every_bucket_or_none(client: Redis) -> None:
    limiter = RedisRateLimiter(client)
    user = uid("alice")
    slow = Limit(burst=3, per_second=0.001)
    wide = Limit(burst=4, per_second=0.001)
    one = [("conn:c1", slow), ("frames", wide)]
    two = [("conn:c2", slow), ("frames", wide)]
    assert [limiter.take(user, one) for _ in range(4)][:3] == [0, 0, 0]  # c1's bucket: 3
    assert limiter.take(user, two) == 0  # c2 has its own, the user's has one left...
    wait = limiter.take(user, two)
    assert wait > 0  # ...now the user's is empty: every connection of the user is refused
    assert limiter.take(uid("bob"), one) == 0  # buckets are per user


def test_rate_limiter_says_when_to_retry(client: Redis) -> None:
    limiter = RedisRateLimiter(client)
    user, bucket = uid("alice"), [("rest", Limit(burst=1, per_second=2.0))]
    assert limiter.take(user, bucket) == 0
    wait = limiter.take(user, bucket)
    assert 0 < wait <= 0.5  # one token every 0.5 s
    time.sleep(wait + 0.05)
    assert limiter.take(user, bucket) == 0


def test_each_refusal_is_a_strike_and_strikes_are_forgiven_over_time(client: Redis) -> None:
    limiter = RedisRateLimiter(client)
    user = uid("mallory")
    frames = [("conn:c1", Limit(burst=2, per_second=0.001)), ("frames", Limit(60, 0.001))]
    assert [limiter.admit(user, frames).strikes for _ in range(5)] == [0, 0, 1, 2, 3]
    client.hset(keys.rate_limit(user, "conn:c1"), "tokens", 1)  # a refill, as if it waited
    assert limiter.admit(user, frames) == Admission(0.0, 3)  # admitted; strikes fade with time
    client.hset(keys.rate_limit(user, "conn:c1"), "struckAt", 0)  # as if long ago
    assert limiter.admit(user, frames).strikes == 1  # forgiven, but for this refusal


def test_a_debt_refuses_for_its_seconds_then_refills(client: Redis) -> None:
    limiter = RedisRateLimiter(client)
    user, connects = uid("mallory"), [("connect", Limit(burst=20, per_second=10.0))]
    assert limiter.take(user, connects) == 0
    limiter.owe(user, connects, 0.5)  # 5 tokens of debt at 10/s, then one to take
    wait = limiter.take(user, connects)
    assert 0.45 < wait <= 0.6
    assert client.pttl(keys.rate_limit(user, "connect")) > 2000  # kept until full again, not sooner
    time.sleep(wait + 0.05)
    assert limiter.take(user, connects) == 0


def test_stats_cache_round_trips_and_expires(client: Redis) -> None:
    from datetime import UTC, datetime

    from mayachat.adapters.redis_rooms import RedisStatsCache
    from mayachat.model import RoomStats

    cache = RedisStatsCache(client, ttl_seconds=1)
    room = uid("room")
    assert cache.get(room) is None
    stats = RoomStats(3, {"alice": 2, "bob": 1}, datetime(2026, 1, 1, tzinfo=UTC), None)
    cache.put(room, stats)
    assert cache.get(room) == stats
    time.sleep(1.1)
    assert cache.get(room) is None


def test_a_callers_stale_clock_cannot_buy_extra_tokens(
    client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that read its clock, then lost the CPU, used to wind the bucket's time back
    and be credited the same refill twice (found by bench_flood). The bucket keeps Redis's
    clock: whatever the callers' clocks say, a burst is a burst."""
    limiter = RedisRateLimiter(client)
    user, bucket = uid("alice"), [("frames", Limit(burst=5, per_second=1.0))]
    skew = iter([0, -5, 3, -60, 0, -1, 7, -30, 0, -2] * 2)  # seconds: a stale, skewed fleet
    monkeypatch.setattr(time, "time", lambda: time.monotonic() + 10_000 + next(skew))
    admitted = sum(limiter.take(user, bucket) == 0 for _ in range(20))
    assert admitted <= 6  # the burst (and at most one real refill while this runs)
