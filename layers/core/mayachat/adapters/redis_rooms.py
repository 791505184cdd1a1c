"""Per-room state cached in Redis: the member list and the members' receipt cursors. All of
it can be rebuilt from MongoDB or may expire."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.model import ReceiptKind, RoomStats
from mayachat.tracing import traced_calls

# Cursors are kept a month after their last move; MongoDB holds them for good.
CURSOR_TTL_SECONDS = 30 * 24 * 3600

# Moves a cursor field only forward; returns 1 when it moved.
_ADVANCE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
local wanted = tonumber(ARGV[2])
if wanted <= current then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# KEYS: the member set, its version fence. ARGV: ttl, version, members... Puts the list only
# if it is not older than the newest version a writer announced.
_PUT = """
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) < fence then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV > 2 then
  redis.call('SADD', KEYS[1], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
"""
# KEYS: the member set, its fence. ARGV: version, fence ttl. Announces a change: the cached
# list goes, and no reader may put back one older than this version.
_FENCE = """
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > fence then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1
"""


@traced_calls("redis")
class RedisMembershipCache:
    """A room's members, versioned: a reader that read MongoDB before a change cannot put
    the old list back (it would re-admit a removed member for the cache's TTL)."""

    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._put = client.register_script(_PUT)
        self._fence = client.register_script(_FENCE)

    def get(self, room_id: str) -> frozenset[str] | None:
        members = self._redis.smembers(keys.room_members(room_id))
        return frozenset(_text(m) for m in members) if members else None

    def put(self, room_id: str, members: frozenset[str], version: int) -> bool:
        keys_ = [keys.room_members(room_id), keys.room_members_fence(room_id)]
        return bool(self._put(keys=keys_, args=[self._ttl, version, *sorted(members)]))

    def fence(self, room_id: str, version: int) -> None:
        keys_ = [keys.room_members(room_id), keys.room_members_fence(room_id)]
        # The fence outlives any cached list (and any read that began before it).
        self._fence(keys=keys_, args=[version, max(self._ttl * 2, 3600)])


@traced_calls("redis")
class RedisCursors:
    def __init__(self, client: Redis) -> None:
        self._redis = client
        self._advance = client.register_script(_ADVANCE)

    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None:
        raw = self._redis.hget(keys.cursor(room_id, user_id), kind.value)
        return int(raw) if raw is not None else None

    def positions(self, room_id: str, user_ids: Sequence[str], kind: ReceiptKind) -> dict[str, int]:
        pipe = self._redis.pipeline(transaction=False)  # one slot: the room's hash tag
        for user_id in user_ids:
            pipe.hget(keys.cursor(room_id, user_id), kind.value)
        found = pipe.execute() if user_ids else []
        return {u: int(v) for u, v in zip(user_ids, found, strict=True) if v is not None}

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        moved = self._advance(
            keys=[keys.cursor(room_id, user_id)], args=[kind.value, up_to_seq, CURSOR_TTL_SECONDS]
        )
        return bool(moved)


@traced_calls("redis")
class RedisStatsCache:
    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def get(self, room_id: str) -> RoomStats | None:
        raw = self._redis.get(keys.room_stats(room_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return RoomStats(
            message_count=int(data["count"]),
            per_sender={str(k): int(v) for k, v in data["perSender"].items()},
            first_message_at=_when(data["first"]),
            last_message_at=_when(data["last"]),
        )

    def put(self, room_id: str, stats: RoomStats) -> None:
        data = {
            "count": stats.message_count,
            "perSender": stats.per_sender,
            "first": stats.first_message_at.isoformat() if stats.first_message_at else None,
            "last": stats.last_message_at.isoformat() if stats.last_message_at else None,
        }
        self._redis.set(keys.room_stats(room_id), json.dumps(data), ex=self._ttl)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
