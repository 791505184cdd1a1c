"""Per-room state cached in Redis: the member list and the members' receipt cursors. All of
it can be rebuilt from MongoDB or may expire."""

from __future__ import annotations

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.model import ReceiptKind

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


class RedisMembershipCache:
    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def get(self, room_id: str) -> frozenset[str] | None:
        members = self._redis.smembers(keys.room_members(room_id))
        return frozenset(_text(m) for m in members) if members else None

    def put(self, room_id: str, members: frozenset[str]) -> None:
        key = keys.room_members(room_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.sadd(key, *members)
        pipe.expire(key, self._ttl)
        pipe.execute()

    def invalidate(self, room_id: str) -> None:
        self._redis.delete(keys.room_members(room_id))


class RedisCursors:
    def __init__(self, client: Redis) -> None:
        self._redis = client
        self._advance = client.register_script(_ADVANCE)

    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None:
        raw = self._redis.hget(keys.cursor(room_id, user_id), kind.value)
        return int(raw) if raw is not None else None

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        moved = self._advance(
            keys=[keys.cursor(room_id, user_id)], args=[kind.value, up_to_seq, CURSOR_TTL_SECONDS]
        )
        return bool(moved)
