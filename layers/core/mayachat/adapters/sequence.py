"""Room sequence numbers: atomic in Redis, never repeated even if Redis loses its data.

Redis hands out seqs with HINCRBY, fast. MongoDB records which numbered blocks of `block`
seqs each room has claimed; a seq is returned only once a claimed block covers it. When Redis
has no counter for a room (new room, eviction, failover without persistence) the counter
restarts past every claimed block, skipping one so that seqs still in flight from the old
counter cannot collide. Gaps are possible; repeats are not. MongoDB is asked once per `block`
messages of a room, not per message.
"""

from __future__ import annotations

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.ports import SeqReservations

# Returns nil if the counter is missing, else {seq, ceiling}.
_NEXT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local seq = redis.call('HINCRBY', KEYS[1], 'n', 1)
return {seq, tonumber(redis.call('HGET', KEYS[1], 'ceiling') or '0')}
"""
# Creates the counter unless another caller did it first.
_INIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'ceiling', ARGV[2])
return 1
"""
# Raises the ceiling, never lowers it.
_RAISE = """
local ceiling = tonumber(redis.call('HGET', KEYS[1], 'ceiling') or '0')
if tonumber(ARGV[1]) > ceiling then redis.call('HSET', KEYS[1], 'ceiling', ARGV[1]) end
return 1
"""


class RedisSequenceAllocator:
    def __init__(self, client: Redis, reservations: SeqReservations, block: int = 1000) -> None:
        self._redis = client
        self._reservations = reservations
        self._block = block
        self._next = client.register_script(_NEXT)
        self._init = client.register_script(_INIT)
        self._raise = client.register_script(_RAISE)

    def next_seq(self, room_id: str) -> int:
        key = keys.room_seq(room_id)
        while True:
            result = self._next(keys=[key])
            if result is None:
                self._restart(room_id, key)
                continue
            seq, ceiling = int(result[0]), int(result[1])
            while seq > ceiling:
                ceiling = self._ceiling(self._reservations.claim_block(room_id))
                self._raise(keys=[key], args=[ceiling])
            return seq

    def _restart(self, room_id: str, key: str) -> None:
        """(Re)create a room's counter. A room's first block starts at 1. Otherwise the old
        counter's seqs (at most its ceiling plus a few in flight) lie below the block we
        just claimed, so we claim one more and start at its beginning, past them all."""
        block = self._reservations.claim_block(room_id)
        if block > 0:
            block = self._reservations.claim_block(room_id)
        self._init(keys=[key], args=[block * self._block, self._ceiling(block)])

    def _ceiling(self, block: int) -> int:
        return (block + 1) * self._block

    def latest(self, room_id: str) -> int | None:
        raw = self._redis.hget(keys.room_seq(room_id), "n")
        return int(raw) if raw is not None else None
