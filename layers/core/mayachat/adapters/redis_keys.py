"""Every Redis key the system uses, in one place. The {braces} are cluster hash tags: each
Lua script touches keys of one slot, so the same code runs on ElastiCache Serverless."""

from __future__ import annotations


def connection(connection_id: str) -> str:
    return f"conn:{{{connection_id}}}"


def user_connections(user_id: str) -> str:
    """A sorted set of the user's connection ids, scored by each one's last frame (ms), or by
    minus the time it went away (a tombstone): mayachat.adapters.redis_connections."""
    return f"user:{{{user_id}}}:connections"


def user_presence(user_id: str) -> str:
    """The user's lastSeen (ms) once no connection says more, and the presence last pushed
    about them: the slot of their connections, so one script keeps both."""
    return f"user:{{{user_id}}}:presence"


def room_members(room_id: str) -> str:
    return f"room:{{{room_id}}}:members"


def room_members_fence(room_id: str) -> str:
    """The newest members version a writer announced: older lists are not cached."""
    return f"room:{{{room_id}}}:members:version"


def room_stats(room_id: str) -> str:
    return f"room:{{{room_id}}}:stats"


def room_seq(room_id: str) -> str:
    return f"room:{{{room_id}}}:seq"


def room_seq_restart(room_id: str) -> str:
    """Held by the one caller re-creating a room's counter."""
    return f"room:{{{room_id}}}:seq:restart"


def room_pending(room_id: str) -> str:
    """Seqs handed out whose message the log has not confirmed yet."""
    return f"room:{{{room_id}}}:pending"


def room_publish_guard(room_id: str) -> str:
    """Set for a second after a reader asked for the room's stable seq to be published."""
    return f"room:{{{room_id}}}:publish"


def cursor(room_id: str, user_id: str) -> str:
    return f"room:{{{room_id}}}:cursor:{user_id}"


def send_claim(room_id: str, sender_id: str, client_msg_id: str) -> str:
    """A sender's claim on a clientMsgId in one room: the room's slot, so claiming it and
    taking a seq are one script."""
    return f"room:{{{room_id}}}:claim:{sender_id}:{client_msg_id}"


def message_state(room_id: str, message_id: str) -> str:
    """A recent message's facts (sender, time, type, deleted, change version): its room's
    slot, with its send claim."""
    return f"room:{{{room_id}}}:msg:{message_id}"


def message_reactions(room_id: str, message_id: str) -> str:
    """Its reactions: `userId|emoji` -> `version:1` (on) or `version:0` (taken back)."""
    return f"room:{{{room_id}}}:msg:{message_id}:reactions"


def rate_limit(user_id: str, bucket: str) -> str:
    """One of a user's token buckets: all in the user's slot, taken from in one script."""
    return f"rate:{{{user_id}}}:{bucket}"
