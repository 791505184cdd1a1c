"""What the functions may do in Redis: the commands the adapters send (directly, in
pipelines and inside their Lua scripts), on the keys of redis_keys. Nothing else: no
FLUSHALL, CONFIG, KEYS, DEBUG, no other database.

Locally the stack's redis-server gets a user with exactly these rules and the functions
connect as it, so the same code path runs everywhere; in AWS create an ElastiCache user with
this access string (docs/deploy.md) and disable the default one.
"""

from __future__ import annotations

USER = "mayachat"

COMMANDS = (
    # connection: redis-py's handshake and health checks
    "auth", "hello", "ping", "client|setname", "acl|whoami",  # (no CLIENT SETINFO: see below)
    # scripts (and what they call inside)
    "eval", "evalsha", "script|load", "script|exists", "info", "time",
    # keys, strings, hashes, sets, sorted sets
    "get", "set", "del", "exists", "expire", "pexpire",
    "hget", "hset", "hmget", "hgetall", "hincrby", "hexists",
    "sadd", "smembers",
    "zadd", "zrem", "zrange", "zrangebyscore", "zremrangebyscore", "zcard", "zscore", "zcount",
    # cluster mode (ElastiCache Serverless): the client reads the slot map, and the command
    # table (COMMAND) it finds each command's keys with -- without it, no cold start connects
    "cluster|slots", "cluster|shards", "cluster|nodes", "readonly", "command",
)  # fmt: skip
# CLIENT SETINFO is left out: Redis 7.0 does not know it (an unknown name fails the whole ACL
# line) and redis-py carries on when it is refused.
KEY_PATTERNS = ("room:*", "user:*", "conn:*", "rate:*")


def access_string() -> str:
    """The rules after the user's name and password (Redis ACL / ElastiCache syntax)."""
    keys = " ".join(f"~{pattern}" for pattern in KEY_PATTERNS)
    return f"{keys} &* -@all " + " ".join(f"+{command}" for command in COMMANDS)
