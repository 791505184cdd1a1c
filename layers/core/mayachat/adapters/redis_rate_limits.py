"""Per-user rate limits in Redis: token buckets (mayachat.limits), several in one script."""

from __future__ import annotations

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.adapters.redis_connections import PRESENCE_RETENTION_SECONDS
from mayachat.limits import STRIKES_FORGIVEN_PER_SECOND, Admission, Buckets
from mayachat.tracing import traced_calls

# Both scripts read a bucket the same way: Redis's clock, then the bucket's tokens refilled
# up to now (never above its capacity; a debt refills too).
_REFILL_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function refilled(key, capacity, rate)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local at = tonumber(state[2]) or now
  local held = tonumber(state[1]) or capacity
  return math.min(capacity, held + math.max(0, now - at) * rate / 1000), math.max(at, now)
end
local function keep(key, tokens, at, capacity, rate)
  redis.call('HSET', key, 'tokens', tokens, 'at', at)
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
"""

# Token buckets, all or none. KEYS: the buckets, then (a frame's) its user's connections;
# ARGV: the number of buckets, the cost, capacity and refill per second of each, the strikes
# forgiven per second, then (a frame's) its connection and the registry's retention. Returns
# {ms until `cost` tokens could be taken (0: taken from every bucket, else nothing is taken),
# the first bucket's strikes (one per refusal, forgiven at that rate), 1 if the connection
# was not in the registry (Redis lost it) and is again}. A bucket's key expires once it is
# full again. The clock is Redis's own: a caller's clock read before it lost the CPU would
# wind a bucket's time back and credit a refill twice.
# The frame's heartbeat rides here (the buckets' slot is its user's): every frame, refused
# or not, refreshes its connection's last-frame score (mayachat.adapters.redis_connections)
# at no extra round trip; a tombstone (the connection said goodbye) is left as it is.
_BUCKETS_LUA = (
    _REFILL_LUA
    + """
local n, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, ats, wait = {}, {}, 0
for i = 1, n do
  local capacity, rate = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  tokens[i], ats[i] = refilled(KEYS[i], capacity, rate)
  if tokens[i] < cost then wait = math.max(wait, math.ceil((cost - tokens[i]) * 1000 / rate)) end
end
for i = 1, n do
  local capacity, rate = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  keep(KEYS[i], wait == 0 and tokens[i] - cost or tokens[i], ats[i], capacity, rate)
end
local marks = redis.call('HMGET', KEYS[1], 'strikes', 'struckAt')
local strikes = tonumber(marks[1]) or 0
local struck = tonumber(marks[2]) or now
strikes = math.max(0, strikes - math.max(0, now - struck) * tonumber(ARGV[2 * n + 3]) / 1000)
if wait > 0 then strikes = strikes + 1 end
redis.call('HSET', KEYS[1], 'strikes', strikes, 'struckAt', now)
local restored = 0
if #KEYS > n then
  local conns, id = KEYS[n + 1], ARGV[2 * n + 4]
  local score = redis.call('ZSCORE', conns, id)
  if not score then
    redis.call('ZADD', conns, now, id)
    restored = 1
  elseif tonumber(score) > 0 then
    redis.call('ZADD', conns, now, id)
  end
  redis.call('EXPIRE', conns, ARGV[2 * n + 5])
end
return {wait, math.ceil(strikes), restored}
"""
)

# Empty the buckets and put them `seconds` in debt: KEYS: the buckets; ARGV: seconds, then
# capacity and refill per second of each. A bucket already deeper in debt stays so.
_OWE_LUA = (
    _REFILL_LUA
    + """
local seconds = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local capacity, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local held, at = refilled(key, capacity, rate)
  keep(key, math.min(held, -seconds * rate), at, capacity, rate)
end
return 0
"""
)


@traced_calls("redis")
class RedisRateLimiter:
    def __init__(self, client: Redis) -> None:
        self._take = client.register_script(_BUCKETS_LUA)
        self._owe = client.register_script(_OWE_LUA)

    def take(self, user_id: str, buckets: Buckets, cost: int = 1) -> float:
        return self.admit(user_id, buckets, cost).wait

    def admit(
        self, user_id: str, buckets: Buckets, cost: int = 1, heartbeat: str | None = None
    ) -> Admission:
        bucket_keys = [keys.rate_limit(user_id, name) for name, _ in buckets]
        args: list[float | str] = [len(buckets), *_args(cost, buckets)]
        args.append(STRIKES_FORGIVEN_PER_SECOND)
        if heartbeat is not None:
            bucket_keys.append(keys.user_connections(user_id))
            args += [heartbeat, PRESENCE_RETENTION_SECONDS]
        wait_ms, strikes, restored = self._take(keys=bucket_keys, args=args)
        return Admission(int(wait_ms) / 1000, int(strikes), restored=bool(restored))

    def owe(self, user_id: str, buckets: Buckets, seconds: float) -> None:
        self._owe(
            keys=[keys.rate_limit(user_id, name) for name, _ in buckets],
            args=_args(seconds, buckets),
        )


def _args(first: float, buckets: Buckets) -> list[float]:
    args = [first]
    for _, limit in buckets:
        args += [limit.burst, limit.per_second]
    return args
