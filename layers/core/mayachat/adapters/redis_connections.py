"""The connection registry and presence in Redis: one user's keys in one slot, one script each.

conn:{id} -> hash(userId, connectedAt), for $disconnect (which knows only the connection id).
user:{u}:connections -> sorted set: each connection scored by its last frame (ms), or by
minus the time it went away (a tombstone, so a frame still in flight does not bring it back).
A connection is live while its score is within PRESENCE_LIVENESS_MS of now: API Gateway
closes a connection after 10 minutes without a client frame, $disconnect or not, and every
frame refreshes the score (in the rate-limit script: mayachat.adapters.redis_rate_limits).
Older entries and tombstones are pruned at every register, their time kept as the lastSeen
in user:{u}:presence, which also holds the last transition's time and what was last pushed.

So nothing is wrong for long when Redis loses its data: the next frame of each open
connection registers it again (`restore`), and a lost $disconnect costs at most the liveness
window. The set stays small (G7): a user's live connections and the last window's departures.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.ports import Arrival, Departure, Seen
from mayachat.presence import PRESENCE_LIVENESS_SECONDS
from mayachat.tracing import traced_calls

# API Gateway closes every connection after 2 hours; a little slack for clock skew.
CONNECTION_TTL_SECONDS = 2 * 3600 + 300
PRESENCE_LIVENESS_MS = PRESENCE_LIVENESS_SECONDS * 1000
# A user's presence keys outlive their last connection this long (their lastSeen with them).
PRESENCE_RETENTION_SECONDS = 30 * 24 * 3600

# KEYS: the user's connections, their presence. ARGV: liveness (ms), retention (s), then the
# script's own. Entries older than the window (either sign) are pruned into lastSeen.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[1])
local conns, presence = KEYS[1], KEYS[2]
local function prune()
  local old = redis.call('ZRANGEBYSCORE', conns, '(' .. -cutoff, '(' .. cutoff, 'WITHSCORES')
  if #old == 0 then return end
  local latest = tonumber(redis.call('HGET', presence, 'lastSeen')) or 0
  for i = 2, #old, 2 do latest = math.max(latest, math.abs(tonumber(old[i]))) end
  redis.call('HSET', presence, 'lastSeen', latest)
  redis.call('ZREMRANGEBYSCORE', conns, '(' .. -cutoff, '(' .. cutoff)
end
local function keep()
  redis.call('EXPIRE', conns, ARGV[2])
  redis.call('EXPIRE', presence, ARGV[2])
end
"""

# ARGV[3]: the connection. Returns {live connections, now}; the first live one is a transition.
_REGISTER = (
    _PRELUDE
    + """
prune()
redis.call('ZADD', conns, now, ARGV[3])
local live = redis.call('ZCOUNT', conns, cutoff, '+inf')
if live == 1 then redis.call('HSET', presence, 'changedAt', now) end
keep()
return {live, now}
"""
)

# ARGV[3]: the connection, gone. Returns {1 if it was the last live one, now}.
_GOODBYE = (
    _PRELUDE
    + """
local score = tonumber(redis.call('ZSCORE', conns, ARGV[3]))
local was_live = score ~= nil and score >= cutoff
redis.call('ZADD', conns, -now, ARGV[3])
local offline = 0
if was_live and redis.call('ZCOUNT', conns, cutoff, '+inf') == 0 then
  redis.call('HSET', presence, 'lastSeen', now, 'changedAt', now)
  offline = 1
end
prune()
keep()
return {offline, now}
"""
)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _int(value: bytes | str | None) -> int | None:
    return int(float(_text(value))) if value is not None else None


def _now_ms() -> int:
    return int(time.time() * 1000)


@traced_calls("redis")
class RedisConnectionRegistry:
    def __init__(self, client: Redis) -> None:
        self._redis = client
        self._register = client.register_script(_REGISTER)
        self._goodbye = client.register_script(_GOODBYE)

    def _user_keys(self, user_id: str) -> list[str]:
        return [keys.user_connections(user_id), keys.user_presence(user_id)]

    def _args(self, connection_id: str) -> list[int | str]:
        return [PRESENCE_LIVENESS_MS, PRESENCE_RETENTION_SECONDS, connection_id]

    def register(self, connection_id: str, user_id: str) -> Arrival:
        self.restore(connection_id, user_id)
        live, now = self._register(keys=self._user_keys(user_id), args=self._args(connection_id))
        return Arrival(live=int(live), at_ms=int(now))

    def restore(self, connection_id: str, user_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(
            keys.connection(connection_id), mapping={"userId": user_id, "connectedAt": _now_ms()}
        )
        pipe.expire(keys.connection(connection_id), CONNECTION_TTL_SECONDS)
        pipe.execute()

    def unregister(self, connection_id: str) -> Departure | None:
        pipe = self._redis.pipeline(transaction=False)  # one key: one slot
        pipe.hget(keys.connection(connection_id), "userId")
        pipe.delete(keys.connection(connection_id))
        raw, _ = pipe.execute()
        if raw is None:
            return None
        user_id = _text(raw)
        return self._leave(user_id, connection_id)

    def remove(self, user_id: str, connection_id: str) -> Departure:
        self._redis.delete(keys.connection(connection_id))
        return self._leave(user_id, connection_id)

    def _leave(self, user_id: str, connection_id: str) -> Departure:
        offline, now = self._goodbye(keys=self._user_keys(user_id), args=self._args(connection_id))
        return Departure(user_id=user_id, went_offline=bool(offline), at_ms=int(now))

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        alive_since = _now_ms() - PRESENCE_LIVENESS_MS
        pipe = self._redis.pipeline(transaction=False)
        for user_id in users:
            pipe.zrangebyscore(keys.user_connections(user_id), alive_since, "+inf")
        results = pipe.execute()
        return {
            user: sorted(_text(c) for c in conns)
            for user, conns in zip(users, results, strict=True)
            if conns
        }

    # -- presence (mayachat.presence) -------------------------------------------------------
    def seen(self, user_ids: Sequence[str]) -> dict[str, Seen]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for user_id in users:
            pipe.zrange(keys.user_connections(user_id), 0, -1, withscores=True)
            pipe.hmget(keys.user_presence(user_id), ["lastSeen", "changedAt", "shown"])
        results = pipe.execute()
        alive_since = _now_ms() - PRESENCE_LIVENESS_MS
        seen: dict[str, Seen] = {}
        for i, user_id in enumerate(users):
            entries: list[tuple[bytes, float]] = results[2 * i]
            last_seen, changed_at, shown = results[2 * i + 1]
            scores = [score for _, score in entries]
            online = any(score >= alive_since for score in scores)
            times = [abs(int(score)) for score in scores]
            stored = _int(last_seen)
            latest = max([*times, *([stored] if stored is not None else [])], default=None)
            seen[user_id] = Seen(
                online=online,
                last_seen_ms=None if online else latest,
                changed_at_ms=_int(changed_at) or 0,
                shown=_text(shown) if shown is not None else None,
            )
        return seen

    def show(self, shown: Mapping[str, str]) -> None:
        if not shown:
            return
        pipe = self._redis.pipeline(transaction=False)
        for user_id, state in shown.items():
            pipe.hset(keys.user_presence(user_id), "shown", state)
            pipe.expire(keys.user_presence(user_id), PRESENCE_RETENTION_SECONDS)
        pipe.execute()
