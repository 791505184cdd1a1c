"""In-memory stand-ins for the ports, for unit tests of the domain (no I/O anywhere)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from mayachat import ports
from mayachat.catch_up import CatchUp
from mayachat.chat import (
    Connections,
    Messaging,
    Receipts,
    StablePublisher,
    Sync,
    Typing,
)
from mayachat.delivery import Delivery
from mayachat.frame_gate import FrameGate
from mayachat.limits import Admission, Buckets, Limit, Limits
from mayachat.log_schema import STABLE_SEQ_HEADER
from mayachat.membership import Rooms
from mayachat.metrics import Count, Timing
from mayachat.model import (
    DELETED_CONTENT,
    Change,
    ChangeKind,
    Cursor,
    Message,
    Receipt,
    ReceiptKind,
    Room,
    RoomStats,
)
from mayachat.ports import (
    Arrival,
    Claim,
    DeadLetter,
    Departure,
    Lag,
    LogPosition,
    LogRecord,
    LogUnavailable,
    NotAMember,
    Posted,
    PresenceProfile,
    Seen,
    SeqRange,
    StoreOutcome,
)
from mayachat.presence import Announcer, Presence
from mayachat.room_admin import RoomAdmin
from mayachat.settings import Settings


class FakeRegistry:
    """The connection registry and presence as the Redis scripts keep them, on a clock of
    its own (`now_ms`): a connection is live until it is unregistered or removed."""

    def __init__(self) -> None:
        self.user_of: dict[str, str] = {}
        self.now_ms = 1_700_000_000_000
        self.last_seen: dict[str, int] = {}
        self.changed_at: dict[str, int] = {}
        self.shown: dict[str, str] = {}

    def _live(self, user_id: str) -> int:
        return sum(1 for u in self.user_of.values() if u == user_id)

    def register(self, connection_id: str, user_id: str) -> Arrival:
        self.user_of[connection_id] = user_id
        live = self._live(user_id)
        if live == 1:
            self.changed_at[user_id] = self.now_ms
        return Arrival(live=live, at_ms=self.now_ms)

    def restore(self, connection_id: str, user_id: str) -> None:
        self.user_of[connection_id] = user_id

    def unregister(self, connection_id: str) -> Departure | None:
        user_id = self.user_of.get(connection_id)
        return self.remove(user_id, connection_id) if user_id is not None else None

    def remove(self, user_id: str, connection_id: str) -> Departure:
        was_live = self.user_of.get(connection_id) == user_id
        if was_live:
            del self.user_of[connection_id]
        offline = was_live and self._live(user_id) == 0
        if offline:
            self.last_seen[user_id] = self.changed_at[user_id] = self.now_ms
        return Departure(user_id=user_id, went_offline=offline, at_ms=self.now_ms)

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(user_ids)
        result: dict[str, list[str]] = defaultdict(list)
        for connection_id, user in sorted(self.user_of.items()):
            if user in wanted:
                result[user].append(connection_id)
        return dict(result)

    def seen(self, user_ids: Sequence[str]) -> dict[str, Seen]:
        return {
            u: Seen(
                online=self._live(u) > 0,
                last_seen_ms=None if self._live(u) else self.last_seen.get(u),
                changed_at_ms=self.changed_at.get(u, 0),
                shown=self.shown.get(u),
            )
            for u in user_ids
        }

    def show(self, shown: Mapping[str, str]) -> None:
        self.shown.update(shown)


class FakePresenceStore:
    def __init__(self, rooms: dict[str, set[str]] | None = None) -> None:
        self.profiles_by_user: dict[str, PresenceProfile] = {}
        self.rooms = rooms if rooms is not None else {}

    def profiles(self, user_ids: Sequence[str]) -> dict[str, PresenceProfile]:
        return {u: self.profiles_by_user[u] for u in user_ids if u in self.profiles_by_user}

    def set_hidden(self, user_id: str, hidden: bool) -> None:
        profile = self.profiles_by_user.get(user_id, PresenceProfile())
        self.profiles_by_user[user_id] = replace(profile, hidden=hidden)

    def record_last_seen(self, last_seen: Mapping[str, datetime]) -> None:
        for user_id, at in last_seen.items():
            profile = self.profiles_by_user.get(user_id, PresenceProfile())
            latest = max(at, profile.last_seen) if profile.last_seen else at
            self.profiles_by_user[user_id] = replace(profile, last_seen=latest)

    def rooms_with(self, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return {
            room: tuple(sorted(members))
            for room, members in self.rooms.items()
            if members & set(user_ids)
        }


class FakeMembershipCache:
    def __init__(self) -> None:
        self.rooms: dict[str, frozenset[str]] = {}
        self.fences: dict[str, int] = {}

    def get(self, room_id: str) -> frozenset[str] | None:
        return self.rooms.get(room_id)

    def put(self, room_id: str, members: frozenset[str], version: int) -> bool:
        if version < self.fences.get(room_id, 0):
            return False
        self.rooms[room_id] = members
        return True

    def fence(self, room_id: str, version: int) -> None:
        self.fences[room_id] = max(self.fences.get(room_id, 0), version)
        self.rooms.pop(room_id, None)


class FakeDirectory:
    def __init__(self, rooms: dict[str, set[str]] | None = None) -> None:
        self.rooms = {r: frozenset(m) for r, m in (rooms or {}).items()}
        self.reads = 0

    def members(self, room_id: str) -> tuple[frozenset[str], int] | None:
        self.reads += 1
        members = self.rooms.get(room_id)
        return (members, 0) if members is not None else None


class FakeLedger:
    """Claims and seqs as the Redis scripts keep them; `give_up(room)` stands for the abandon
    window passing (every pending seq of the room given up)."""

    def __init__(self, cache: FakeMembershipCache | None = None) -> None:
        self.cache = cache or FakeMembershipCache()  # the members it checks a claim against
        self.counters: dict[str, int] = defaultdict(int)
        self.pending: dict[str, set[int]] = defaultdict(set)
        self.claims: dict[tuple[str, str, str], tuple[Message, bool]] = {}

    def stable(self, room_id: str) -> int:
        pending = self.pending[room_id]
        return min(pending) - 1 if pending else self.counters[room_id]

    def claim(self, draft: Message) -> Claim:
        key = (draft.room_id, draft.sender_id, draft.client_msg_id)
        earlier = self.claims.get(key)
        if earlier is not None:
            message, acked = earlier
            if acked:
                return Claim(message, acked=True, member="", stable_before=None)
            if message.seq in self.pending[draft.room_id]:
                return Claim(message, False, str(message.seq), self.stable(draft.room_id))
        before = self.stable(draft.room_id)
        self.counters[draft.room_id] += 1
        seq = self.counters[draft.room_id]
        self.pending[draft.room_id].add(seq)
        message = replace(earlier[0] if earlier else draft, seq=seq)
        self.claims[key] = (message, False)
        return Claim(message, acked=False, member=str(seq), stable_before=before)

    def claim_as_member(self, draft: Message) -> Claim | None:
        members = self.cache.get(draft.room_id)
        if members is None:
            return None
        if draft.sender_id not in members:
            raise NotAMember(draft.room_id)
        return replace(self.claim(draft), members=members)

    def confirm(self, claim: Claim) -> None:
        message = claim.message
        self.pending[message.room_id].discard(message.seq)
        key = (message.room_id, message.sender_id, message.client_msg_id)
        if self.claims[key][0].seq == message.seq:
            self.claims[key] = (message, True)

    def give_up(self, room_id: str) -> None:
        self.pending[room_id].clear()

    def latest(self, room_id: str) -> int:
        return self.counters[room_id]

    def lag(self, room_id: str, durable: int) -> Lag:
        stable = self.stable(room_id)
        return Lag(stable if stable > durable else None, self.counters[room_id] > durable)


class FakeRateLimiter:
    """Token buckets without a clock: each bucket allows `burst` takes, then refuses (every
    refusal a strike, never forgiven); a debt (`owe`) refuses until `repay` is called."""

    def __init__(self) -> None:
        self.taken: dict[tuple[str, str], int] = defaultdict(int)
        self.refused: dict[tuple[str, str], int] = defaultdict(int)
        self.owed: dict[tuple[str, str], float] = {}

    def take(self, user_id: str, buckets: Buckets, cost: int = 1) -> float:
        return self.admit(user_id, buckets, cost).wait

    def admit(
        self, user_id: str, buckets: Buckets, cost: int = 1, heartbeat: str | None = None
    ) -> Admission:
        first = (user_id, buckets[0][0])
        owed = max((self.owed.get((user_id, name), 0.0) for name, _ in buckets), default=0.0)
        full = any(self.taken[(user_id, name)] + cost > limit.burst for name, limit in buckets)
        if owed or full:
            self.refused[first] += 1
            return Admission(owed or 1.0, self.refused[first])
        for name, _ in buckets:
            self.taken[(user_id, name)] += cost
        return Admission(0.0, 0)

    def owe(self, user_id: str, buckets: Buckets, seconds: float) -> None:
        for name, _ in buckets:
            self.owed[(user_id, name)] = seconds

    def repay(self) -> None:
        """The penalties are served."""
        self.owed.clear()


class FakeLog:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self.down = False

    def append(self, record: LogRecord) -> LogPosition:
        if self.down:
            raise LogUnavailable("broker down")
        self.records.append(record)
        return LogPosition(record.topic, 0, len(self.records) - 1)

    def start(self, record: LogRecord) -> FakeInFlight:
        return FakeInFlight(self, record)


@dataclass
class FakeInFlight:
    """Held by the fake broker until waited for: `down` by then, and it never lands."""

    log: FakeLog
    record: LogRecord

    def wait(self) -> LogPosition:
        return self.log.append(self.record)


def slice_of(
    messages: Iterable[Message], room_id: str, after: int, up_to: int, limit: int
) -> ports.Slice:
    """What MongoDB's catch-up read returns, for stores without changes."""
    found = sorted(
        (m for m in messages if m.room_id == room_id and after < m.seq <= up_to),
        key=lambda m: m.seq,
    )
    has_more = len(found) > limit
    last = found[limit - 1].seq if has_more else up_to
    return ports.Slice(found[:limit], [], last, has_more)


class FakeArchive:
    """MongoDB as the persist function leaves it: messages by id, each room's stable seq."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.stable: dict[str, int] = defaultdict(int)

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[ports.Slice, int]:
        up_to = self.stable[room_id]
        return slice_of(self.messages.values(), room_id, after_seq, up_to, limit), up_to

    def persist(self, records: Iterable[LogRecord]) -> None:
        """What the persist function does with these records, in order (by messageId, the
        higher seq winning; the stable seq raised to what each announces)."""
        for record in records:
            if record.topic != "chat-messages":
                continue
            data = json.loads(record.value)
            room = data["roomId"]
            if "messageId" in data and record.headers.get("eventType") in (None, "message.created"):
                message = Message.from_wire(data)
                earlier = self.messages.get(message.message_id)
                if earlier is None or earlier.seq < message.seq:
                    self.messages[message.message_id] = message
            if STABLE_SEQ_HEADER in record.headers:
                stable = int(record.headers[STABLE_SEQ_HEADER])
                self.stable[room] = max(self.stable[room], stable)


class FakeCursors:
    def __init__(self) -> None:
        self.at: dict[tuple[str, str, ReceiptKind], int] = {}

    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None:
        return self.at.get((room_id, user_id, kind))

    def positions(self, room_id: str, user_ids: Sequence[str], kind: ReceiptKind) -> dict[str, int]:
        found = {u: self.at.get((room_id, u, kind)) for u in user_ids}
        return {u: seq for u, seq in found.items() if seq is not None}

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        key = (room_id, user_id, kind)
        if up_to_seq <= self.at.get(key, -1):
            return False
        self.at[key] = up_to_seq
        return True


class FakeGateway:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.gone: set[str] = set()
        self.refusing: set[str] = set()  # posts to these fail (as a 403 would)

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> Posted:
        gone = {cid for cid, _ in posts if cid in self.gone}
        failed = {cid for cid, _ in posts if cid in self.refusing} - gone
        self.sent += [(cid, data) for cid, data in posts if cid not in gone | failed]
        return Posted(gone=frozenset(gone), failed=len(failed))

    def close(self, connection_id: str) -> None:
        self.gone.add(connection_id)


class FakeMetrics:
    def __init__(self) -> None:
        self.counts: defaultdict[Count, int] = defaultdict(int)
        self.timings: defaultdict[Timing, list[float]] = defaultdict(list)

    def count(self, metric: Count, value: int = 1) -> None:
        self.counts[metric] += value

    def timing(self, metric: Timing, milliseconds: float) -> None:
        self.timings[metric].append(milliseconds)


class FakeStore:
    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.cursors: dict[tuple[str, str], dict[str, int]] = {}
        self.stable: dict[str, int] = {}
        self.edit_versions: dict[str, int] = {}
        self.reaction_versions: dict[tuple[str, str, str], tuple[int, bool]] = {}
        self.down = False
        self.calls = 0

    def store_messages(self, messages: Sequence[Message]) -> list[StoreOutcome]:
        self.calls += 1
        if self.down:
            return [StoreOutcome.FAILED] * len(messages)
        outcomes = []
        for m in messages:
            taken = {(x.room_id, x.seq): x.message_id for x in self.messages.values()}
            if m.message_id in self.messages:
                outcomes.append(StoreOutcome.DUPLICATE)
            elif taken.get((m.room_id, m.seq)) not in (None, m.message_id):
                outcomes.append(StoreOutcome.CONFLICT)
            else:
                self.messages[m.message_id] = m
                outcomes.append(StoreOutcome.STORED)
        return outcomes

    def apply_receipts(self, receipts: Sequence[Receipt]) -> list[bool]:
        if self.down:
            return [False] * len(receipts)
        for r in receipts:
            cursor = self.cursors.setdefault((r.room_id, r.user_id), {})
            cursor[r.kind.value] = max(cursor.get(r.kind.value, 0), r.up_to_seq)
        return [True] * len(receipts)

    def raise_stable(self, stable: Mapping[str, int]) -> bool:
        if self.down:
            return False
        for room, seq in stable.items():
            self.stable[room] = max(self.stable.get(room, 0), seq)
        return True

    def apply_changes(self, changes: Sequence[Change]) -> list[ports.ChangeOutcome]:
        """As MongoMessageStore: newer versions win, a deletion always and for good."""
        if self.down:
            return [ports.ChangeOutcome.FAILED] * len(changes)
        outcomes = []
        for c in changes:
            m = self.messages.get(c.message_id)
            if m is None:
                outcomes.append(ports.ChangeOutcome.NOT_YET)
                continue
            outcomes.append(ports.ChangeOutcome.APPLIED)
            if m.deleted:
                continue
            if c.kind is ChangeKind.DELETE:
                m = replace(
                    m, content=DELETED_CONTENT, deleted_at=c.at, deleted_by=c.user_id, reactions={}
                )
            elif c.kind is ChangeKind.EDIT and c.version > self.edit_versions.get(m.message_id, 0):
                self.edit_versions[m.message_id] = c.version
                m = replace(m, content=c.content or {}, edited_at=c.at)
            elif c.kind is ChangeKind.REACT:
                key = (m.message_id, c.user_id, c.emoji or "")
                if c.version > self.reaction_versions.get(key, (0, False))[0]:
                    self.reaction_versions[key] = (c.version, c.added)
                on = sorted(
                    (v, e, u)
                    for (i, u, e), (v, a) in self.reaction_versions.items()
                    if i == m.message_id and a
                )
                reactions: dict[str, list[str]] = {}
                for _, emoji, user in on:
                    reactions.setdefault(emoji, []).append(user)
                m = replace(m, reactions=reactions)
            self.messages[m.message_id] = replace(m, version=max(m.version, c.version))
        return outcomes

    def attachments_of(self, message_ids: Sequence[str]) -> dict[str, str]:
        found = (self.messages.get(i) for i in message_ids)
        return {
            m.message_id: m.content["attachmentId"]
            for m in found
            if m is not None and "attachmentId" in m.content
        }


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self.down = False

    def send(self, letter: DeadLetter) -> None:
        if self.down:
            raise RuntimeError("dead-letter topic unavailable")
        self.letters.append(letter)


class FakeRoomStore:
    """MongoDB's rooms, messages and cursors as the REST side reads and writes them (the
    ChatReads and RoomWrites ports): rooms by id, messages by id, cursors by (user, room)."""

    def __init__(self) -> None:
        self.rooms_by_id: dict[str, Room] = {}
        self.messages: dict[str, Message] = {}
        self.cursors_of: dict[tuple[str, str], Cursor] = {}
        self.stats_runs = 0

    def store(self, *messages: Message) -> None:
        """As persist leaves them: stored, and each room's stable seq raised past them."""
        for m in messages:
            self.messages[m.message_id] = m
            room = self.rooms_by_id[m.room_id]
            self.rooms_by_id[m.room_id] = replace(
                room, last_seq=max(room.last_seq, m.seq), stable_seq=max(room.stable_seq, m.seq)
            )

    # ChatReads
    def room(self, room_id: str) -> Room | None:
        return self.rooms_by_id.get(room_id)

    def rooms_of(self, user_id: str) -> list[Room]:
        return [r for r in self.rooms_by_id.values() if user_id in r.members]

    def room_activity(self, user_id: str) -> list[tuple[str, datetime]]:
        return [(r.room_id, r.updated_at or r.created_at) for r in self.rooms_of(user_id)]

    def rooms(self, room_ids: Sequence[str]) -> list[Room]:
        return [self.rooms_by_id[i] for i in room_ids if i in self.rooms_by_id]

    def room_count(self, user_id: str, at_most: int) -> int:
        return min(len(self.rooms_of(user_id)), at_most)

    def message(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def slice(self, room_id: str, after: int, up_to: int, limit: int) -> ports.Slice:
        return slice_of(self.messages.values(), room_id, after, up_to, limit)

    def history(
        self, room_id: str, *, before: int | None, after: int | None, up_to: int, limit: int
    ) -> list[Message]:
        found = [m for m in self.messages.values() if m.room_id == room_id and m.seq <= up_to]
        if after is not None:
            return sorted((m for m in found if m.seq > after), key=lambda m: m.seq)[:limit]
        below = [m for m in found if before is None or m.seq < before]
        return sorted(below, key=lambda m: -m.seq)[:limit]

    def cursors(self, user_id: str, room_ids: Sequence[str]) -> dict[str, Cursor]:
        return {
            r: self.cursors_of[(user_id, r)] for r in room_ids if (user_id, r) in self.cursors_of
        }

    def _unread(self, user_id: str, unread: Mapping[str, SeqRange]) -> list[Message]:
        return sorted(
            (
                m
                for m in self.messages.values()
                if m.room_id in unread
                and unread[m.room_id][0] < m.seq <= unread[m.room_id][1]
                and m.sender_id != user_id
            ),
            key=lambda m: (m.room_id, m.seq),
        )

    def unread_counts(self, user_id: str, unread: Mapping[str, SeqRange]) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for m in self._unread(user_id, unread):
            counts[m.room_id] += 1
        return dict(counts)

    def unread_messages(
        self, user_id: str, unread: Mapping[str, SeqRange], limit: int
    ) -> list[Message]:
        return self._unread(user_id, unread)[:limit]

    def stats(self, room_id: str) -> RoomStats:
        self.stats_runs += 1
        found = [m for m in self.messages.values() if m.room_id == room_id]
        per_sender: dict[str, int] = defaultdict(int)
        for m in found:
            per_sender[m.sender_id] += 1
        return RoomStats(len(found), dict(per_sender), None, None)

    # RoomWrites
    def create(self, room: Room) -> bool:
        if room.room_id in self.rooms_by_id:
            return False
        self.rooms_by_id[room.room_id] = room
        return True

    def _change(self, room_id: str, version: int, **changes: object) -> Room | None:
        room = self.rooms_by_id.get(room_id)
        if room is None:
            return None
        self.rooms_by_id[room_id] = replace(room, members_version=version, **changes)  # type: ignore[arg-type]
        return self.rooms_by_id[room_id]

    def add_members(self, room_id: str, user_ids: Sequence[str], version: int) -> Room | None:
        room = self.rooms_by_id.get(room_id)
        members = tuple(dict.fromkeys([*(room.members if room else ()), *user_ids]))
        return self._change(room_id, version, members=members)

    def remove_member(
        self, room_id: str, user_id: str, roles: Mapping[str, str], version: int
    ) -> Room | None:
        room = self.rooms_by_id.get(room_id)
        members = tuple(m for m in (room.members if room else ()) if m != user_id)
        return self._change(room_id, version, members=members, roles=dict(roles))

    def set_roles(self, room_id: str, roles: Mapping[str, str], version: int) -> Room | None:
        return self._change(room_id, version, roles=dict(roles))


class FakeStatsCache:
    def __init__(self) -> None:
        self.cached: dict[str, RoomStats] = {}

    def get(self, room_id: str) -> RoomStats | None:
        return self.cached.get(room_id)

    def put(self, room_id: str, stats: RoomStats) -> None:
        self.cached[room_id] = stats


@dataclass
class World:
    """Every fake, wired into every service, as bootstrap does with the real adapters."""

    rooms_by_id: dict[str, set[str]] = field(default_factory=dict)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    cache: FakeMembershipCache = field(default_factory=FakeMembershipCache)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    log: FakeLog = field(default_factory=FakeLog)
    archive: FakeArchive = field(default_factory=FakeArchive)
    cursors: FakeCursors = field(default_factory=FakeCursors)
    gateway: FakeGateway = field(default_factory=FakeGateway)
    limiter: FakeRateLimiter = field(default_factory=FakeRateLimiter)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    limits: Limits = field(
        default_factory=lambda: replace(
            Limits.from_settings(Settings()), connects=Limit(10, 0.5), max_connections=3
        )
    )

    def __post_init__(self) -> None:
        self.ledger.cache = self.cache  # one membership cache, as in Redis
        self.directory = FakeDirectory(self.rooms_by_id)
        self.rooms = Rooms(self.cache, self.directory)
        self.announcer = Announcer("chat-presence", self.log)
        self.delivery = Delivery(
            self.registry, self.gateway, self.metrics, wave=32, announcer=self.announcer
        )
        self.messaging = Messaging(
            "chat-messages", self.rooms, self.ledger, self.log, self.delivery, self.metrics
        )
        self.connections = Connections(
            self.registry, self.limiter, self.limits, self.metrics, self.announcer
        )
        self.frame_gate = FrameGate(self.limiter, self.limits, self.metrics, self.registry)
        self.presence_store = FakePresenceStore(self.rooms_by_id)
        self.presence = Presence(self.rooms, self.registry, self.presence_store, self.announcer)
        self.typing = Typing(self.rooms, self.delivery)
        self.receipts = Receipts(
            "message-persistence", self.rooms, self.ledger, self.cursors, self.log, self.delivery
        )
        self.stable = StablePublisher("chat-messages", self.ledger, self.log)
        self.sync = Sync(
            self.rooms,
            self.archive,
            self.stable,
            self.delivery,
            self.limiter,
            self.limits,
            page_size=100,
        )
        self.store = FakeRoomStore()
        self.stats_cache = FakeStatsCache()
        self.catch_up = CatchUp(self.store, self.receipts, self.stable, self.stats_cache)
        self.room_admin = RoomAdmin(self.store, self.store, self.cache, self.delivery)

    def persist(self) -> None:
        """Run the persist function over the whole log."""
        self.archive.persist(self.log.records)


if TYPE_CHECKING:  # mypy (make typecheck) holds every fake to its port
    _registry: ports.ConnectionRegistry = FakeRegistry()
    _cache: ports.MembershipCache = FakeMembershipCache()
    _directory: ports.RoomDirectory = FakeDirectory({})
    _ledger: ports.SendLedger = FakeLedger()
    _sequences: ports.SequenceAllocator = FakeLedger()
    _limiter: ports.RateLimiter = FakeRateLimiter()
    _log: ports.EventLog = FakeLog()
    _archive: ports.MessageArchive = FakeArchive()
    _cursors: ports.Cursors = FakeCursors()
    _gateway: ports.ConnectionGateway = FakeGateway()
    _store: ports.MessageStore = FakeStore()
    _dead_letters: ports.DeadLetters = FakeDeadLetters()
    _reads: ports.ChatReads = FakeRoomStore()
    _writes: ports.RoomWrites = FakeRoomStore()
    _stats: ports.StatsCache = FakeStatsCache()
