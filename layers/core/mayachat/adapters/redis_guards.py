"""Per-connection rate limits in Redis (send claims live with the room: sequence.py)."""

from __future__ import annotations

import time

from redis import Redis

from mayachat.adapters import redis_keys as keys

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
