"""Per-room state cached in Redis: the member list, the recent-messages window and the
members' receipt cursors. All of it can be rebuilt from MongoDB or may expire."""

from __future__ import annotations

import json

from redis import Redis
from redis.client import Pipeline

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.redis_guards import RedisIdempotencyStore
from mayachat.model import Message, ReceiptKind

# Cursors are kept a month after their last move; MongoDB holds them for good.
CURSOR_TTL_SECONDS = 30 * 24 * 3600
RECENT_TTL_SECONDS = 7 * 24 * 3600

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


class RedisRecentMessages:
    """A sorted set per room, scored by seq, trimmed to the newest `size` messages."""

    def __init__(self, client: Redis, size: int) -> None:
        self._redis = client
        self._size = size

    def append_into(self, pipe: Pipeline, message: Message) -> None:
        """Queue the append on `pipe`. No MULTI needed: whatever another sender's commands
        interleave, the set ends trimmed to the newest `size` with a fresh TTL."""
        key = keys.room_recent(message.room_id)
        pipe.zadd(key, {json.dumps(message.to_wire(), separators=(",", ":")): message.seq})
        pipe.zremrangebyrank(key, 0, -self._size - 1)
        pipe.expire(key, RECENT_TTL_SECONDS)

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[list[Message], bool]:
        key = keys.room_recent(room_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.zrangebyscore(key, f"({after_seq}", "+inf", start=0, num=limit)
        oldest, found = pipe.execute()
        messages = [Message.from_wire(json.loads(raw)) for raw in found]
        # Complete only if the window reaches back to the first wanted seq; otherwise older
        # ones may have been trimmed (or Redis restarted) and MongoDB must fill in.
        complete = bool(oldest) and int(oldest[0][1]) <= after_seq + 1
        return messages, complete


class RedisAckedMessages:
    """The idempotency confirmation and the recent-window append in one round trip: a
    pipeline, not a transaction, since the keys live in different cluster slots and each
    write stands on its own (a lost one is a resend re-produced with the same id and seq, or
    a sync served from MongoDB)."""

    def __init__(
        self, client: Redis, idempotency: RedisIdempotencyStore, recent: RedisRecentMessages
    ) -> None:
        self._redis = client
        self._idempotency = idempotency
        self._recent = recent

    def remember(self, message: Message) -> None:
        pipe = self._redis.pipeline(transaction=False)
        self._idempotency.confirm_into(pipe, message)
        self._recent.append_into(pipe, message)
        pipe.execute()


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
