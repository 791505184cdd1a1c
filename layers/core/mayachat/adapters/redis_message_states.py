"""Each recent message's facts in Redis (the MessageStates port), in its room's slot.

- `room:{r}:msg:{id}` hash: sender `s`, createdAt ms `t`, content type `ty`, clientMsgId
  `k`, deleted `d`. Written by the send claim
  (mayachat.adapters.sequence), so a message can be changed the moment it is acked; kept
  `ttl` after its last change, then seeded again from MongoDB when someone changes it.
- `room:{r}:msg:{id}:reactions` hash: `userId|emoji` -> `version:1` (on) or `version:0`
  (taken back), so a late reaction event never undoes a newer one here either.

A change's version is the room seq it was logged under (RedisRoomSequences.take): it never
repeats, even across a loss of Redis, so a late event never wins over a newer one.
"""

from __future__ import annotations

from typing import Any

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.model import Change, ChangeKind
from mayachat.ports import Begun, MessageFacts
from mayachat.tracing import traced_calls

# KEYS: facts, reactions. ARGV: ttl. Returns false, or {now ms, s, t, ty, k, d, reaction
# field, value, ...}.
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local t = redis.call('TIME')
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
local f = redis.call('HMGET', KEYS[1], 's', 't', 'ty', 'k', 'd')
local answer = {tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),
  f[1] or '', f[2] or '0', f[3] or 'text', f[4] or '', f[5] or '0'}
for _, item in ipairs(redis.call('HGETALL', KEYS[2])) do answer[#answer + 1] = item end
return answer
"""
# KEYS: facts, reactions. ARGV: ttl, s, t, ty, k, d, then reaction field/value pairs.
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 's', ARGV[2], 't', ARGV[3], 'ty', ARGV[4], 'k', ARGV[5],
  'd', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[1])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""
# KEYS: facts, reactions. ARGV: ttl, field, version, 1|0. Returns the reactions after.
_REACT = """
if redis.call('HGET', KEYS[1], 'd') == '1' then return {} end
local current = redis.call('HGET', KEYS[2], ARGV[2])
local seen = current and tonumber(string.match(current, '^(%d+)')) or 0
if tonumber(ARGV[3]) > seen then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. ':' .. ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return redis.call('HGETALL', KEYS[2])
"""
# KEYS: facts, reactions, the send claim. A deletion keeps nothing of what the message said:
# its reactions go, and the claim (kept for resends' acks) loses its content.
_DELETE = """
redis.call('HSET', KEYS[1], 'd', '1')
redis.call('DEL', KEYS[2])
local m = redis.call('HGET', KEYS[3], 'm')
if m then
  local message = cjson.decode(m)
  message['content'] = {type = 'deleted'}
  redis.call('HSET', KEYS[3], 'm', cjson.encode(message))
end
return 1
"""


@traced_calls("redis")
class RedisMessageStates:
    def __init__(self, client: Redis, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._begin = client.register_script(_BEGIN)
        self._seed = client.register_script(_SEED)
        self._react = client.register_script(_REACT)
        self._delete = client.register_script(_DELETE)

    def begin(self, room_id: str, message_id: str) -> Begun | None:
        answer = self._begin(keys=_keys(room_id, message_id), args=[self._ttl])
        if not answer:
            return None
        now_ms, sender, created, content_type, client_msg_id, deleted, *pairs = (
            _text(a) for a in answer
        )
        facts = MessageFacts(
            sender_id=sender,
            created_at_ms=int(created),
            content_type=content_type,
            client_msg_id=client_msg_id,
            deleted=deleted == "1",
            reactions=_reactions(pairs),
        )
        return Begun(facts=facts, now_ms=int(now_ms))

    def seed(self, room_id: str, message_id: str, facts: MessageFacts) -> None:
        args: list[str | int] = [
            self._ttl,
            facts.sender_id,
            facts.created_at_ms,
            facts.content_type,
            facts.client_msg_id,
            "1" if facts.deleted else "0",
        ]
        for emoji, users in facts.reactions.items():
            for user in users:
                # The stored versions are MongoDB's, older than any handed out from now on.
                args += [f"{user}|{emoji}", f"{facts.version}:1"]
        self._seed(keys=_keys(room_id, message_id), args=args)

    def apply(self, change: Change, facts: MessageFacts) -> dict[str, int]:
        room, message = change.room_id, change.message_id
        if change.kind is ChangeKind.DELETE:
            claim = keys.send_claim(room, facts.sender_id, facts.client_msg_id)
            self._delete(keys=[*_keys(room, message), claim])
            return {}
        if change.kind is ChangeKind.EDIT:
            return {}  # no content in Redis: the edit is in the log and goes to the room
        field = f"{change.user_id}|{change.emoji}"
        pairs = self._react(
            keys=_keys(room, message),
            args=[self._ttl, field, change.version, 1 if change.added else 0],
        )
        return {emoji: len(users) for emoji, users in _reactions([_text(p) for p in pairs]).items()}


def _keys(room_id: str, message_id: str) -> list[str]:
    return [keys.message_state(room_id, message_id), keys.message_reactions(room_id, message_id)]


def _reactions(pairs: list[str]) -> dict[str, list[str]]:
    """emoji -> who has it on, in the order of their versions."""
    on: list[tuple[int, str, str]] = []
    for field, value in zip(pairs[::2], pairs[1::2], strict=True):
        user, _, emoji = field.rpartition("|")
        version, _, state = value.partition(":")
        if state == "1":
            on.append((int(version), emoji, user))
    reactions: dict[str, list[str]] = {}
    for _, emoji, user in sorted(on):
        reactions.setdefault(emoji, []).append(user)
    return reactions


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
