"""Per-user rate limits in Redis: token buckets (mayachat.limits), several in one script."""

from __future__ import annotations

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.limits import Buckets

# Token buckets, all or none. KEYS: the buckets; ARGV: cost, then capacity and refill per
# second of each. Returns 0 when `cost` tokens were taken from every bucket, else the ms
# until they would be (nothing is taken then). The clock is Redis's own: a caller's clock
# read before it lost the CPU would wind a bucket's time back and credit a refill twice.
_BUCKETS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local tokens, wait = {}, 0
for i, key in ipairs(KEYS) do
  local capacity, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local t = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  t = math.min(capacity, t + math.max(0, now - at) * rate / 1000)
  tokens[i] = t
  if t < cost then wait = math.max(wait, math.ceil((cost - t) * 1000 / rate)) end
end
for i, key in ipairs(KEYS) do
  local capacity, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local t = tokens[i]
  if wait == 0 then t = t - cost end
  local at = tonumber(redis.call('HGET', key, 'at') or '0')
  redis.call('HSET', key, 'tokens', t, 'at', math.max(at, now))
  redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 1000)
end
return wait
"""


class RedisRateLimiter:
    def __init__(self, client: Redis) -> None:
        self._take = client.register_script(_BUCKETS_LUA)

    def take(self, user_id: str, buckets: Buckets, cost: int = 1) -> float:
        args: list[float] = [cost]
        for _, limit in buckets:
            args += [limit.burst, limit.per_second]
        wait_ms = self._take(
            keys=[keys.rate_limit(user_id, name) for name, _ in buckets], args=args
        )
        return int(wait_ms) / 1000
