"""Connection registry and presence in Redis, with API Gateway's 2-hour connection lifetime.

conn:{id} -> hash(userId, connectedAt); user:{id}:connections -> sorted set of connection ids
scored by connect time. A user is online while they have a connection younger than the
lifetime. The set stays bounded (G7): every register drops the user's connections older than
API Gateway lets any connection live, reads skip them, and a post that finds a connection
gone (410) removes it from its owner's set even when its own entry has already expired.
$disconnect is best-effort in AWS, so these are what keeps the registry clean.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.tracing import traced_calls

# API Gateway closes every connection after 2 hours; a little slack for clock skew.
CONNECTION_TTL_SECONDS = 2 * 3600 + 300


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@traced_calls("redis")
class RedisConnectionRegistry:
    def __init__(self, client: Redis) -> None:
        self._redis = client

    def register(self, connection_id: str, user_id: str) -> int:
        now_ms = int(time.time() * 1000)
        mine = keys.user_connections(user_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(
            keys.connection(connection_id), mapping={"userId": user_id, "connectedAt": now_ms}
        )
        pipe.expire(keys.connection(connection_id), CONNECTION_TTL_SECONDS)
        pipe.zadd(mine, {connection_id: now_ms})
        pipe.zremrangebyscore(mine, "-inf", f"({now_ms - CONNECTION_TTL_SECONDS * 1000}")
        pipe.expire(mine, CONNECTION_TTL_SECONDS)
        pipe.zcard(mine)
        return int(pipe.execute()[-1])

    def unregister(self, connection_id: str) -> str | None:
        raw = self._redis.hget(keys.connection(connection_id), "userId")
        if raw is None:
            return None
        user_id = _text(raw)
        self.remove(user_id, connection_id)
        return user_id

    def remove(self, user_id: str, connection_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(keys.user_connections(user_id), connection_id)
        pipe.delete(keys.connection(connection_id))
        pipe.execute()

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        alive_since = int(time.time() * 1000) - CONNECTION_TTL_SECONDS * 1000
        pipe = self._redis.pipeline(transaction=False)
        for user_id in users:
            pipe.zrangebyscore(keys.user_connections(user_id), alive_since, "+inf")
        results = pipe.execute()
        return {
            user: sorted(_text(c) for c in conns)
            for user, conns in zip(users, results, strict=True)
            if conns
        }
