"""Send claims, room seqs and the stable seq (adapters/sequence.py) against real redis-servers:
the shared one, and for failover a throwaway primary and replica of this test's own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.redis_rooms import RedisMembershipCache
from mayachat.adapters.sequence import RedisRoomSequences
from mayachat.model import Message
from mayachat.ports import Lag, NotAMember

ABANDON = 0.3  # seconds: short, so tests can let it pass


@pytest.fixture
def client(redis_client: Redis) -> Redis:
    return redis_client


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


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def draft(room: str, client_msg_id: str | None = None, sender: str = "alice") -> Message:
    cmid = client_msg_id or uid("c")
    return Message(
        f"01JD{uuid.uuid4().hex[:22].upper()}",
        room,
        0,
        sender,
        cmid,
        {"type": "text", "text": cmid},
        "2026-11-26T12:00:00.000Z",
    )


def ledger(
    client: Redis, reservations: CountingReservations, block: int = 1000
) -> RedisRoomSequences:
    return RedisRoomSequences(
        client, reservations, claim_ttl_seconds=60, abandon_seconds=ABANDON, block=block
    )


def sent(seqs: RedisRoomSequences, room: str, count: int) -> list[int]:
    """Claim and confirm `count` new messages; their seqs."""
    out = []
    for _ in range(count):
        claim = seqs.claim(draft(room))
        seqs.confirm(claim)
        out.append(claim.message.seq)
    return out


def test_seqs_start_at_one_and_claim_a_block_once_per_block_size(client: Redis) -> None:
    reservations = CountingReservations()
    seqs = ledger(client, reservations, block=10)
    room = uid("room")
    assert sent(seqs, room, 25) == list(range(1, 26))
    assert seqs.latest(room) == 25
    assert reservations.calls == 3  # blocks 0, 1 and 2 cover seqs 1..30


def test_a_resend_stands_for_the_first_message_then_gets_its_ack(client: Redis) -> None:
    seqs = ledger(client, CountingReservations())
    room = uid("room")
    first = seqs.claim(draft(room, "c1"))
    assert (first.acked, first.stable_before, first.stable_once_logged()) == (False, 0, 1)
    again = seqs.claim(draft(room, "c1"))  # not yet confirmed: same message, same seq
    assert (again.message, again.acked) == (first.message, False)
    seqs.confirm(first)
    acked = seqs.claim(draft(room, "c1"))
    assert (acked.message, acked.acked) == (first.message, True)
    other_room = seqs.claim(draft(uid("room"), "c1"))  # claims are per room
    assert other_room.message.message_id != first.message.message_id
    assert seqs.claim(draft(room, "c1", sender="bob")).message.seq == 2  # and per sender


def test_a_claim_as_member_checks_the_cached_members_in_the_same_script(client: Redis) -> None:
    seqs = ledger(client, CountingReservations())
    cache = RedisMembershipCache(client, ttl_seconds=60)
    room = uid("room")
    assert seqs.claim_as_member(draft(room)) is None  # nothing cached: nothing claimed
    assert client.exists(keys.room_seq(room)) == 0
    cache.put(room, frozenset({"alice", "bob"}), version=1)
    with pytest.raises(NotAMember):
        seqs.claim_as_member(draft(room, sender="mallory"))
    assert client.exists(keys.room_seq(room)) == 0  # refused before any seq was taken
    first = seqs.claim_as_member(draft(room, "c1"))
    assert first is not None
    assert (first.message.seq, first.members) == (1, frozenset({"alice", "bob"}))
    seqs.confirm(first)
    acked = seqs.claim_as_member(draft(room, "c1"))  # a resend: its ack, members too
    assert acked is not None
    assert (acked.acked, acked.message, acked.members) == (True, first.message, first.members)
    assert seqs.claim(draft(room)).members == frozenset()  # unchecked: no members read


def test_claims_race_to_one_winner(client: Redis) -> None:
    seqs = ledger(client, CountingReservations())
    room = uid("room")
    drafts = [draft(room, "same") for _ in range(32)]
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(seqs.claim, drafts))
    assert len({c.message.message_id for c in claims}) == 1
    assert {c.message.seq for c in claims} == {1}


def test_a_pending_seq_holds_the_stable_seq_until_confirmed_or_given_up(client: Redis) -> None:
    seqs = ledger(client, CountingReservations())
    room = uid("room")
    slow = seqs.claim(draft(room))  # seq 1, still on its way to Kafka
    fast = seqs.claim(draft(room))  # seq 2
    seqs.confirm(fast)
    assert fast.stable_once_logged() == 0  # it cannot vouch for seq 1
    assert seqs.lag(room, durable=0) == Lag(publish=None, behind=True)
    seqs.confirm(slow)
    assert seqs.lag(room, durable=0) == Lag(publish=2, behind=True)
    assert seqs.lag(room, durable=0).publish is None  # asked within the second: once
    assert seqs.lag(room, durable=2) == Lag(publish=None, behind=False)

    lost = seqs.claim(draft(room, "lost"))  # seq 3, its sender never confirms it
    assert seqs.claim(draft(room)).stable_before == 2
    time.sleep(ABANDON + 0.1)
    later = seqs.claim(draft(room))  # seq 5: seqs 3 and 4 are given up now
    assert later.stable_before == 4
    again = seqs.claim(replace(draft(room, "lost")))
    assert again.message.message_id == lost.message.message_id  # the same message...
    assert again.message.seq == 6  # ...under a fresh seq, past every cursor given out


def test_seqs_never_repeat_after_redis_loses_the_room(client: Redis) -> None:
    seqs = ledger(client, CountingReservations(), block=10)
    room = uid("room")
    before = sent(seqs, room, 15)
    client.delete(keys.room_seq(room), keys.room_pending(room))  # FLUSHALL, restart, eviction
    claim = seqs.claim(draft(room))
    seqs.confirm(claim)
    after = [claim.message.seq, *sent(seqs, room, 14)]
    assert min(after) > max(before)
    assert after == sorted(set(after))
    # Nothing is known of the lost counter's pending seqs: stable is unknown for a while.
    assert claim.stable_before is None
    assert seqs.lag(room, durable=0).publish is None
    time.sleep(ABANDON + 0.1)
    assert seqs.lag(room, durable=0).publish == max(after)


def test_a_flush_during_a_block_claim_does_not_restart_the_counter_at_one(
    client: Redis,
) -> None:
    room = uid("room")

    class FlushingReservations(CountingReservations):
        def claim_block(self, room_id: str) -> int:
            block = super().claim_block(room_id)
            if block == 1:
                client.delete(keys.room_seq(room))  # lands inside the claim
            return block

    seqs = ledger(client, FlushingReservations(), block=5)
    before = sent(seqs, room, 6)  # the 6th needs block 1
    after = sent(seqs, room, 5)
    assert min(after) > max(before), (before, after)


def test_concurrent_claims_are_unique_and_covered_by_claimed_blocks(client: Redis) -> None:
    reservations = CountingReservations()
    seqs = ledger(client, reservations, block=7)
    room = uid("room")
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda _: seqs.claim(draft(room)), range(200)))
    numbers = [c.message.seq for c in claims]
    assert len(set(numbers)) == 200
    assert max(numbers) <= (reservations.blocks[room] + 1) * 7


def test_a_latest_seq_redis_lost_is_past_every_seq_that_may_exist(client: Redis) -> None:
    seqs = ledger(client, CountingReservations(), block=10)
    room = uid("room")
    before = sent(seqs, room, 3)
    client.delete(keys.room_seq(room))
    assert seqs.latest(room) >= max(before)  # a receipt cannot pin a cursor past future seqs
    assert sent(seqs, room, 1)[0] > seqs.latest(room) - 1


# -- failover to a replica that lagged ------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Redis, Redis]]:
    """Two throwaway redis-servers of this test's own, not replicating yet."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    procs, clients = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            (tmp_path / name).mkdir()
            argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            argv += ["--dir", str(tmp_path / name)]
            procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            clients.append(Redis(port=port, socket_timeout=2))
        deadline = time.monotonic() + 10
        while True:
            try:
                if all(c.ping() for c in clients):
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield clients[0], clients[1]
    finally:
        for c in clients:
            c.close()
        for proc in procs:
            proc.kill()
            proc.wait()


def _replicate(primary: Redis, replica: Redis, room: str) -> None:
    """Make `replica` follow `primary` and wait until it holds the room's counter."""
    port = primary.connection_pool.connection_kwargs["port"]
    replica.execute_command("REPLICAOF", "127.0.0.1", str(port))
    deadline = time.monotonic() + 10
    while replica.hget(keys.room_seq(room), "n") != primary.hget(keys.room_seq(room), "n"):
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.05)


def test_seqs_never_repeat_after_failing_over_to_a_replica_that_lagged(
    two_servers: tuple[Redis, Redis],
) -> None:
    primary, replica = two_servers
    reservations = CountingReservations()
    room = uid("room")
    on_primary = ledger(primary, reservations, block=10)
    first = sent(on_primary, room, 3)
    _replicate(primary, replica, room)  # replicated so far...
    replica.execute_command("REPLICAOF", "NO", "ONE")  # ...then cut off: it lags
    lost = sent(on_primary, room, 4)  # acked on the primary, never replicated
    assert replica.hget(keys.room_seq(room), "n") == b"3"
    on_replica = ledger(replica, reservations, block=10)  # promoted: the stack points at it
    after = sent(on_replica, room, 5)
    assert min(after) > max(first + lost), (first, lost, after)


def test_attaching_a_replica_does_not_restart_the_counters(
    two_servers: tuple[Redis, Redis],
) -> None:
    """Attaching the first replica gives the primary a new replication id; the counters
    must carry on (a restart would jump every room's seqs and pause its catch-up)."""
    primary, replica = two_servers
    seqs = ledger(primary, CountingReservations(), block=10)
    room = uid("room")
    before = sent(seqs, room, 3)
    _replicate(primary, replica, room)
    assert sent(seqs, room, 2) == [max(before) + 1, max(before) + 2]
