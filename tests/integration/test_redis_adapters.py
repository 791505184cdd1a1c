"""The Redis adapters against the real redis-server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis import Redis
from redis.client import Pipeline

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.redis_connections import CONNECTION_TTL_SECONDS, RedisConnectionRegistry
from mayachat.adapters.redis_guards import RedisIdempotencyStore, RedisRateLimiter
from mayachat.adapters.redis_rooms import (
    RedisAckedMessages,
    RedisCursors,
    RedisMembershipCache,
    RedisRecentMessages,
)
from mayachat.adapters.sequence import RedisSequenceAllocator
from mayachat.model import Message, ReceiptKind


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def message(room: str, seq: int, sender: str = "alice") -> Message:
    return Message(
        f"m{seq}-{uuid.uuid4().hex[:6]}",
        room,
        seq,
        sender,
        f"c{seq}",
        {"type": "text", "text": f"#{seq}"},
        "2026-11-26T12:00:00.000Z",
    )


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
    assert registry.unregister("c1") == alice
    assert registry.unregister("c1") is None
    assert registry.connections_of([alice]) == {alice: ["c2"]}
    registry.unregister("c2")
    registry.unregister("c3")


def test_membership_cache_round_trip_and_invalidate(client: Redis) -> None:
    cache = RedisMembershipCache(client, ttl_seconds=60)
    room = uid("room")
    assert cache.get(room) is None
    cache.put(room, frozenset({"alice", "bob"}))
    assert cache.get(room) == frozenset({"alice", "bob"})
    cache.put(room, frozenset({"alice"}))  # a put replaces, never merges
    assert cache.get(room) == frozenset({"alice"})
    cache.invalidate(room)
    assert cache.get(room) is None


def test_recent_window_is_bounded_and_knows_when_it_is_complete(client: Redis) -> None:
    recent = RedisRecentMessages(client, size=5)
    acked = RedisAckedMessages(client, RedisIdempotencyStore(client, ttl_seconds=60), recent)
    room = uid("room")
    assert recent.after(room, 0, 10) == ([], False)
    for seq in range(1, 9):
        acked.remember(message(room, seq))
    found, complete = recent.after(room, 5, 10)
    assert [m.seq for m in found] == [6, 7, 8]
    assert complete
    found, complete = recent.after(room, 1, 10)  # seqs 2 and 3 were trimmed away
    assert [m.seq for m in found] == [4, 5, 6, 7, 8]
    assert not complete
    assert recent.after(room, 3, 2)[0][0].to_wire()["content"]["text"] == "#4"


def test_remembering_an_acked_message_confirms_and_appends_in_one_round_trip(
    client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    idempotency = RedisIdempotencyStore(client, ttl_seconds=60)
    recent = RedisRecentMessages(client, size=5)
    acked = RedisAckedMessages(client, idempotency, recent)
    sender, room = uid("alice"), uid("room")
    first = message(room, 1, sender)
    assert idempotency.claim(sender, first.client_msg_id, first) is None

    executed: list[int] = []
    real_execute = Pipeline.execute

    def counting_execute(pipe: Pipeline, raise_on_error: bool = True) -> list[object]:
        executed.append(len(pipe.command_stack))
        return real_execute(pipe, raise_on_error)

    monkeypatch.setattr(Pipeline, "execute", counting_execute)
    acked.remember(first)
    assert executed == [4]  # SET, then ZADD, ZREMRANGEBYRANK, EXPIRE: one round trip
    monkeypatch.undo()

    assert idempotency.claim(sender, first.client_msg_id, message(room, 2, sender)) == (
        first,
        True,
    )
    assert recent.after(room, 0, 10) == ([first], True)


def test_cursors_never_move_backwards(client: Redis) -> None:
    cursors = RedisCursors(client)
    room, user = uid("room"), "bob"
    assert cursors.position(room, user, ReceiptKind.READ) is None
    assert cursors.advance(room, user, ReceiptKind.READ, 5)
    assert not cursors.advance(room, user, ReceiptKind.READ, 3)
    assert not cursors.advance(room, user, ReceiptKind.READ, 5)
    assert cursors.position(room, user, ReceiptKind.READ) == 5
    assert cursors.position(room, user, ReceiptKind.DELIVERED) is None


def test_idempotency_first_writer_wins_then_confirms(client: Redis) -> None:
    store = RedisIdempotencyStore(client, ttl_seconds=60)
    sender = uid("alice")
    first, second, third = (message("r", seq, sender) for seq in (1, 2, 3))
    assert store.claim(sender, "c1", first) is None
    assert store.claim(sender, "c1", second) == (first, False)
    RedisAckedMessages(client, store, RedisRecentMessages(client, size=5)).remember(first)
    assert store.claim(sender, "c1", third) == (first, True)
    assert store.claim(uid("bob"), "c1", third) is None  # keys are per sender


def test_idempotency_claims_race_to_one_winner(client: Redis) -> None:
    store = RedisIdempotencyStore(client, ttl_seconds=60)
    sender = uid("alice")
    candidates = [message("r", seq, sender) for seq in range(1, 33)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda m: store.claim(sender, "same", m), candidates))
    winners = [m for m, answer in zip(candidates, answers, strict=True) if answer is None]
    assert len(winners) == 1
    assert all(a == (winners[0], False) for a in answers if a is not None)


def test_rate_limiter_allows_a_burst_then_refuses(client: Redis) -> None:
    limiter = RedisRateLimiter(client, burst=5, per_second=0.001)
    connection = uid("conn")
    assert [limiter.allow(connection) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.allow(uid("other"))  # buckets are per connection


class CountingReservations:
    """The durable side of the allocator, in memory, counting its calls."""

    def __init__(self) -> None:
        self.blocks: dict[str, int] = {}
        self.calls = 0
        self._lock = threading.Lock()  # claims are atomic, like MongoDB's unique inserts

    def claim_block(self, room_id: str) -> int:
        with self._lock:
            self.calls += 1
            self.blocks[room_id] = self.blocks.get(room_id, -1) + 1
            return self.blocks[room_id]


def test_seqs_start_at_one_and_claim_a_block_once_per_block_size(client: Redis) -> None:
    reservations = CountingReservations()
    allocator = RedisSequenceAllocator(client, reservations, block=10)
    room = uid("room")
    assert [allocator.next_seq(room) for _ in range(25)] == list(range(1, 26))
    assert allocator.latest(room) == 25
    assert reservations.calls == 3  # blocks 0, 1 and 2 cover seqs 1..30


def test_seqs_never_repeat_after_redis_loses_the_counter(client: Redis) -> None:
    reservations = CountingReservations()
    allocator = RedisSequenceAllocator(client, reservations, block=10)
    room = uid("room")
    before = [allocator.next_seq(room) for _ in range(15)]
    client.delete(keys.room_seq(room))  # a flush, eviction or failover
    after = [allocator.next_seq(room) for _ in range(15)]
    assert min(after) > max(before)
    assert after == sorted(set(after))


def test_concurrent_allocations_are_unique_and_covered_by_claimed_blocks(
    client: Redis,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    reservations = CountingReservations()
    allocator = RedisSequenceAllocator(client, reservations, block=7)
    room = uid("room")
    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(lambda _: allocator.next_seq(room), range(200)))
    assert len(set(seqs)) == 200
    assert max(seqs) <= (reservations.blocks[room] + 1) * 7
