"""Room sequence numbers and send claims in Redis: atomic, never repeated, and a stable seq.

Per room, in one hash slot (`{roomId}`), so each step is one Lua script:
- `seq` hash: the counter `n`, the `ceiling` a claimed MongoDB block covers, the Redis
  incarnation `inc` (the server process's run_id) the counter was made under, and `hold`;
- `pending` sorted set: seqs handed out whose message the log has not confirmed, scored by
  seq, each member `seq:allocatedAtMs`;
- one `claim` hash per (sender, clientMsgId): the message it stands for, its seq, its pending
  member, and whether it was acked.

**Never repeated (G3).** A seq is used only once a durable MongoDB block covers it. When the
counter is missing (new room, restart, FLUSHALL) or was made under another incarnation (a
replica promoted: it may lag, so its counter may be behind), the counter restarts past every
claimed block, one block beyond, so seqs in flight from the old counter cannot collide.

**Stable seq (G2).** Every seq at or below it is settled: in the log, or given up. A pending
seq is given up `abandon_ms` after it was taken (longer than any send waits for Kafka); a
resend of its message then gets a fresh seq. After a restart nothing is known of the old
counter's pending seqs, so the stable seq is unknown (-1) for `abandon_ms`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import Redis

from mayachat.adapters import redis_keys as keys
from mayachat.model import Message, epoch_ms
from mayachat.ports import Claim, Lag, NotAMember, SeqReservations, SeqTicket
from mayachat.tracing import traced_calls

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# The incarnation: the server process's run_id. A counter replicated to a replica carries its
# primary's, so once that replica is promoted (it may lag) the counter is not trusted; a
# restart (which may reload an old snapshot) gets a new one too. Attaching a replica changes
# the replication id, not this. '' where INFO is not allowed in scripts.
_INCARNATION = """
local function incarnation()
  local ok, info = pcall(redis.call, 'INFO', 'server')
  if not ok or type(info) ~= 'string' then return '' end
  return string.match(info, 'run_id:(%w+)') or ''
end
local function counter_ok(seq_key)
  local c = redis.call('HMGET', seq_key, 'n', 'inc')
  return c[1] and c[2] == incarnation()
end
"""
# The stable seq, giving up pending seqs older than ARGV[abandon].
_STABLE = """
local function stable(seq_key, pending_key, now, abandon_ms)
  local hold = tonumber(redis.call('HGET', seq_key, 'hold') or '0')
  if now < hold then return -1 end
  while true do
    local low = redis.call('ZRANGE', pending_key, 0, 0)
    if #low == 0 then return tonumber(redis.call('HGET', seq_key, 'n')) end
    local seq, at = string.match(low[1], '^(%d+):(%d+)$')
    if now - tonumber(at) < abandon_ms then return tonumber(seq) - 1 end
    redis.call('ZREM', pending_key, low[1])
  end
end
local function allocate(seq_key, pending_key, now)
  local seq = redis.call('HINCRBY', seq_key, 'n', 1)
  local member = seq .. ':' .. now
  redis.call('ZADD', pending_key, seq, member)
  return seq, member
end
"""
# KEYS: seq, pending, claim, the draft's facts, the room's cached members. ARGV: draft message
# JSON, claim ttl (s), abandon (ms), the draft's sender, createdAt (ms), content type,
# clientMsgId, facts ttl (s), '1' to check the sender against the cached members first.
# Returns {'unknown'} (no members cached) | {'not_member'} | {'restart'} | {'acked', message,
# seq} | {'new'|'again', message, seq, member, stable, ceiling}; checked, the members last.
_CLAIM = (
    _NOW
    + _INCARNATION
    + _STABLE
    + """
local checked = ARGV[9] == '1'
local members = {}
if checked then
  -- SMEMBERS, not SISMEMBER: the fan-out needs the list anyway, and the ACL has it already
  members = redis.call('SMEMBERS', KEYS[5])
  if #members == 0 then return {'unknown'} end
  local found = false
  for _, m in ipairs(members) do
    if m == ARGV[4] then found = true; break end
  end
  if not found then return {'not_member'} end
end
local function claim()
if not counter_ok(KEYS[1]) then return {'restart'} end
local abandon = tonumber(ARGV[3])
local ceiling = redis.call('HGET', KEYS[1], 'ceiling') or '0'
local c = redis.call('HMGET', KEYS[3], 'm', 'seq', 'member', 'acked')
if c[1] then
  if c[4] == '1' then return {'acked', c[1], c[2]} end
  if redis.call('ZSCORE', KEYS[2], c[3]) then
    return {'again', c[1], c[2], c[3], stable(KEYS[1], KEYS[2], now, abandon), ceiling}
  end
  -- its seq was given up (or lost): the same message under a fresh seq
  local before = stable(KEYS[1], KEYS[2], now, abandon)
  local seq, member = allocate(KEYS[1], KEYS[2], now)
  redis.call('HSET', KEYS[3], 'seq', seq, 'member', member)
  return {'again', c[1], seq, member, before, ceiling}
end
local before = stable(KEYS[1], KEYS[2], now, abandon)
local seq, member = allocate(KEYS[1], KEYS[2], now)
redis.call('HSET', KEYS[3], 'm', ARGV[1], 'seq', seq, 'member', member, 'acked', '0')
redis.call('EXPIRE', KEYS[3], ARGV[2])
-- the new message's facts, for its edits, deletion and reactions (redis_message_states)
redis.call('HSET', KEYS[4], 's', ARGV[4], 't', ARGV[5], 'ty', ARGV[6], 'k', ARGV[7], 'd', '0')
redis.call('EXPIRE', KEYS[4], ARGV[8])
return {'new', ARGV[1], seq, member, before, ceiling}
end
local answer = claim()
if checked then answer[#answer + 1] = members end
return answer
"""
)
# KEYS: seq, pending. ARGV: abandon (ms). A seq for a record that is not a message (an edit,
# deletion or reaction): pending until settled, like a message's. Returns {'restart'} |
# {seq, member, stable before, ceiling}.
_TAKE = (
    _NOW
    + _INCARNATION
    + _STABLE
    + """
if not counter_ok(KEYS[1]) then return {'restart'} end
local ceiling = redis.call('HGET', KEYS[1], 'ceiling') or '0'
local before = stable(KEYS[1], KEYS[2], now, tonumber(ARGV[1]))
local seq, member = allocate(KEYS[1], KEYS[2], now)
return {seq, member, before, ceiling}
"""
)
# KEYS: pending, claim. ARGV: pending member, claim ttl (s).
_CONFIRM = """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'member') == ARGV[1] then
  redis.call('HSET', KEYS[2], 'acked', '1')
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
"""
# KEYS: seq, pending. ARGV: first seq, ceiling, hold (ms from now). Creates the counter
# unless a valid one exists; forgets the old pending seqs (the hold covers them).
_INIT = (
    _NOW
    + _INCARNATION
    + """
if counter_ok(KEYS[1]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'ceiling', ARGV[2], 'inc', incarnation(),
  'hold', now + tonumber(ARGV[3]))
return 1
"""
)
# Raises the ceiling, never lowers it, and never creates a counter (a FLUSHALL may have
# removed it while the block was claimed: then the next claim restarts it).
_RAISE = """
if redis.call('HEXISTS', KEYS[1], 'n') == 0 then return 0 end
local ceiling = tonumber(redis.call('HGET', KEYS[1], 'ceiling') or '0')
if tonumber(ARGV[1]) > ceiling then redis.call('HSET', KEYS[1], 'ceiling', ARGV[1]) end
return 1
"""
# KEYS: seq, pending, publish guard. ARGV: abandon (ms), the durable stable seq.
# Returns {stable to publish or -1, 1 if seqs beyond the durable one were handed out}; the
# stable seq only when it is ahead of the durable one and no reader asked within a second.
_PUBLISHABLE = (
    _NOW
    + _INCARNATION
    + _STABLE
    + """
if not counter_ok(KEYS[1]) then return {-1, 0} end
local durable = tonumber(ARGV[2])
local behind = 0
if tonumber(redis.call('HGET', KEYS[1], 'n')) > durable then behind = 1 end
local seq = stable(KEYS[1], KEYS[2], now, tonumber(ARGV[1]))
if seq <= durable then return {-1, behind} end
if not redis.call('SET', KEYS[3], seq, 'NX', 'PX', 1000) then return {-1, behind} end
return {seq, behind}
"""
)


@traced_calls("redis")
class RedisRoomSequences:
    """The SendLedger and SequenceAllocator of the WebSocket path."""

    def __init__(
        self,
        client: Redis,
        reservations: SeqReservations,
        *,
        claim_ttl_seconds: int,
        abandon_seconds: float,
        state_ttl_seconds: int = 24 * 3600,
        block: int = 1000,
    ) -> None:
        self._redis = client
        self._reservations = reservations
        self._claim_ttl = claim_ttl_seconds
        self._abandon_ms = int(abandon_seconds * 1000)
        self._state_ttl = state_ttl_seconds
        self._block = block
        self._claim = client.register_script(_CLAIM)
        self._confirm = client.register_script(_CONFIRM)
        self._take = client.register_script(_TAKE)
        self._init = client.register_script(_INIT)
        self._raise = client.register_script(_RAISE)
        self._publishable = client.register_script(_PUBLISHABLE)

    # -- SendLedger ------------------------------------------------------------------------
    def claim(self, draft: Message) -> Claim:
        claim = self._claim_draft(draft, check_members=False)
        assert claim is not None  # only a members check answers None
        return claim

    def claim_as_member(self, draft: Message) -> Claim | None:
        return self._claim_draft(draft, check_members=True)

    def _claim_draft(self, draft: Message, *, check_members: bool) -> Claim | None:
        room = draft.room_id
        claim_keys = [
            keys.room_seq(room),
            keys.room_pending(room),
            keys.send_claim(room, draft.sender_id, draft.client_msg_id),
            keys.message_state(room, draft.message_id),
            keys.room_members(room),  # the membership cache's (redis_rooms): the same slot
        ]
        args: list[str | int] = [
            _encode(draft),
            self._claim_ttl,
            self._abandon_ms,
            draft.sender_id,
            epoch_ms(draft.created_at),
            str(draft.content.get("type", "text")),
            draft.client_msg_id,
            self._state_ttl,
            "1" if check_members else "0",
        ]
        while True:
            answer = self._claim(keys=claim_keys, args=args)
            kind = _text(answer[0])
            if kind == "unknown":
                return None
            if kind == "not_member":
                raise NotAMember(room)
            members = frozenset(_text(m) for m in answer.pop()) if check_members else frozenset()
            if kind == "restart":
                self._restart(room)
                continue
            message = _decode(answer[1], int(answer[2]))
            if kind == "acked":
                return Claim(message, acked=True, member="", stable_before=None, members=members)
            self._cover(room, message.seq, int(answer[5]))
            stable = int(answer[4])
            return Claim(
                message,
                acked=False,
                member=_text(answer[3]),
                stable_before=stable if stable >= 0 else None,
                members=members,
            )

    def confirm(self, claim: Claim) -> None:
        message = claim.message
        self._confirm(
            keys=[
                keys.room_pending(message.room_id),
                keys.send_claim(message.room_id, message.sender_id, message.client_msg_id),
            ],
            args=[claim.member, self._claim_ttl],
        )

    # -- ChangeSeqs ------------------------------------------------------------------------
    def take(self, room_id: str) -> SeqTicket:
        room_keys = [keys.room_seq(room_id), keys.room_pending(room_id)]
        while True:
            answer = self._take(keys=room_keys, args=[self._abandon_ms])
            if _text(answer[0]) == "restart":
                self._restart(room_id)
                continue
            seq, member, stable, ceiling = int(answer[0]), _text(answer[1]), answer[2], answer[3]
            self._cover(room_id, seq, int(ceiling))
            return SeqTicket(seq, member, int(stable) if int(stable) >= 0 else None)

    def settle(self, room_id: str, ticket: SeqTicket) -> None:
        # A claim key no send has (a sender id holds no space): there is no claim to mark.
        unclaimed = keys.send_claim(room_id, " ", " ")
        self._confirm(
            keys=[keys.room_pending(room_id), unclaimed], args=[ticket.member, self._claim_ttl]
        )

    # -- SequenceAllocator -----------------------------------------------------------------
    def latest(self, room_id: str) -> int:
        raw = self._redis.hget(keys.room_seq(room_id), "n")
        if raw is None:
            # Unknown: start the counter again, past every seq that may exist.
            self._restart(room_id)
            raw = self._redis.hget(keys.room_seq(room_id), "n")
        return int(raw or 0)

    def lag(self, room_id: str, durable: int) -> Lag:
        publish, behind = self._publishable(
            keys=[
                keys.room_seq(room_id),
                keys.room_pending(room_id),
                keys.room_publish_guard(room_id),
            ],
            args=[self._abandon_ms, durable],
        )
        return Lag(publish=int(publish) if int(publish) >= 0 else None, behind=bool(behind))

    # -- the counter -----------------------------------------------------------------------
    def _cover(self, room_id: str, seq: int, ceiling: int) -> None:
        """Return only once a claimed block covers `seq`."""
        while seq > ceiling:
            ceiling = self._ceiling(self._reservations.claim_block(room_id))
            self._raise(keys=[keys.room_seq(room_id)], args=[ceiling])

    def _restart(self, room_id: str) -> None:
        """(Re)create a room's counter. A room's first block starts at 1. Otherwise the old
        counter's seqs (at most its ceiling plus a few in flight) lie below the block we
        just claimed, so we claim one more and start at its beginning, past them all, and
        hold the stable seq unknown until the old counter's pending seqs are given up.

        One caller restarts, the others wait for it: concurrent first sends to a new room
        would otherwise take it for a lost counter."""
        lock = keys.room_seq_restart(room_id)
        if not self._redis.set(lock, "1", nx=True, px=5000):
            time.sleep(0.01)
            return
        try:
            self._restart_now(room_id)
        finally:
            self._redis.delete(lock)

    def _restart_now(self, room_id: str) -> None:
        block = self._reservations.claim_block(room_id)
        hold = 0
        if block > 0:
            block = self._reservations.claim_block(room_id)
            hold = self._abandon_ms
        self._init(
            keys=[keys.room_seq(room_id), keys.room_pending(room_id)],
            args=[block * self._block, self._ceiling(block), hold],
        )

    def _ceiling(self, block: int) -> int:
        return (block + 1) * self._block


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode(draft: Message) -> str:
    return json.dumps(draft.to_wire(), separators=(",", ":"))


def _decode(raw: Any, seq: int) -> Message:
    wire = json.loads(raw)
    wire["seq"] = seq
    return Message.from_wire(wire)
