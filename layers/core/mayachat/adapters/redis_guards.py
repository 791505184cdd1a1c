"""Per-connection rate limits and per-sender idempotency keys in Redis."""

from __future__ import annotations

import json
import time

from redis import Redis
from redis.client import Pipeline

from mayachat.adapters import redis_keys as keys
from mayachat.model import Message

# Token bucket: ARGV = capacity, refill per second, now (ms). Returns 1 if a token was taken.
_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return allowed
"""


class RedisRateLimiter:
    def __init__(self, client: Redis, burst: int, per_second: float) -> None:
        self._take = client.register_script(_BUCKET_LUA)
        self._burst = burst
        self._rate = per_second

    def allow(self, key: str) -> bool:
        now_ms = int(time.time() * 1000)
        return bool(self._take(keys=[keys.rate_limit(key)], args=[self._burst, self._rate, now_ms]))


class RedisIdempotencyStore:
    """idem:{sender}:{clientMsgId} -> {"message": ..., "acked": bool}, first writer wins."""

    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def claim(
        self, sender_id: str, client_msg_id: str, message: Message
    ) -> tuple[Message, bool] | None:
        # SET NX GET (Redis >= 7.0): sets only if absent and answers the earlier value, in
        # one round trip -- the first writer wins and a resend learns what it stands for.
        earlier = self._redis.set(
            keys.idempotency(sender_id, client_msg_id),
            _encode(message, acked=False),
            nx=True,
            ex=self._ttl,
            get=True,
        )
        # None: this one was set. (redis-py types SET's answer as bool too; with GET it is not.)
        return _decode(earlier) if isinstance(earlier, bytes | str) else None

    def confirm_into(self, pipe: Pipeline, message: Message) -> None:
        """Queue marking the message acked on `pipe` (sent with other writes:
        RedisAckedMessages)."""
        pipe.set(
            keys.idempotency(message.sender_id, message.client_msg_id),
            _encode(message, acked=True),
            ex=self._ttl,
        )


def _encode(message: Message, *, acked: bool) -> str:
    return json.dumps({"message": message.to_wire(), "acked": acked}, separators=(",", ":"))


def _decode(raw: bytes | str) -> tuple[Message, bool]:
    data = json.loads(raw)
    return Message.from_wire(data["message"]), bool(data["acked"])
