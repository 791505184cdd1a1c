"""Every Redis key the system uses, in one place. The {braces} are cluster hash tags: each
Lua script touches keys of one slot, so the same code runs on ElastiCache Serverless."""

from __future__ import annotations


def connection(connection_id: str) -> str:
    return f"conn:{{{connection_id}}}"


def user_connections(user_id: str) -> str:
    return f"user:{{{user_id}}}:conns"


def room_members(room_id: str) -> str:
    return f"room:{{{room_id}}}:members"


def room_seq(room_id: str) -> str:
    return f"room:{{{room_id}}}:seq"


def room_recent(room_id: str) -> str:
    return f"room:{{{room_id}}}:recent"


def cursor(room_id: str, user_id: str) -> str:
    return f"room:{{{room_id}}}:cursor:{user_id}"


def idempotency(sender_id: str, client_msg_id: str) -> str:
    return f"idem:{{{sender_id}}}:{client_msg_id}"


def rate_limit(connection_id: str) -> str:
    return f"rate:{{{connection_id}}}"
