"""Connection registry and presence in Redis, with API Gateway's 2-hour connection lifetime.

conn:{id} -> hash(userId, connectedAt); user:{id}:conns -> set of connection ids. A user is
online while their set is non-empty. $disconnect is best-effort in AWS, so stale ids are also
removed when @connections answers 410 Gone.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis import Redis

from mayachat.adapters import redis_keys as keys

# API Gateway closes every connection after 2 hours; a little slack for clock skew.
CONNECTION_TTL_SECONDS = 2 * 3600 + 300


class RedisConnectionRegistry:
    def __init__(self, client: Redis) -> None:
        self._redis = client

    def register(self, connection_id: str, user_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(
            keys.connection(connection_id),
            mapping={"userId": user_id, "connectedAt": int(time.time() * 1000)},
        )
        pipe.expire(keys.connection(connection_id), CONNECTION_TTL_SECONDS)
        pipe.sadd(keys.user_connections(user_id), connection_id)
        pipe.expire(keys.user_connections(user_id), CONNECTION_TTL_SECONDS)
        pipe.execute()

    def unregister(self, connection_id: str) -> str | None:
        raw = self._redis.hget(keys.connection(connection_id), "userId")
        if raw is None:
            return None
        user_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        pipe = self._redis.pipeline(transaction=False)
        pipe.srem(keys.user_connections(user_id), connection_id)
        pipe.delete(keys.connection(connection_id))
        pipe.execute()
        return user_id

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for user_id in users:
            pipe.smembers(keys.user_connections(user_id))
        results = pipe.execute()
        return {
            user: sorted(c.decode() if isinstance(c, bytes) else str(c) for c in conns)
            for user, conns in zip(users, results, strict=True)
            if conns
        }
