"""The small interfaces the domain needs from the outside world. Adapters implement them
(mayachat.adapters.*); unit tests use in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from mayachat.limits import Admission, Buckets
from mayachat.model import Change, Cursor, Message, Receipt, ReceiptKind, Room, RoomStats
from mayachat.push import Device, Notification, PushPreferences


@dataclass(frozen=True)
class Arrival:
    live: int  # the user's live connections, this one included
    at_ms: int  # when (Redis's clock): the time of the transition, if it is one

    @property
    def came_online(self) -> bool:
        return self.live == 1


@dataclass(frozen=True)
class Departure:
    user_id: str
    went_offline: bool  # it was the user's last live connection
    at_ms: int


class ConnectionRegistry(Protocol):
    """Who is connected where: user -> connections (several devices), connection -> user. A
    connection is live while it sent a frame within PRESENCE_LIVENESS_SECONDS (API Gateway
    closes it after 10 idle minutes, $disconnect or not)."""

    def register(self, connection_id: str, user_id: str) -> Arrival:
        """Remember the connection; how many of the user's are live, this one included."""
        ...

    def unregister(self, connection_id: str) -> Departure | None:
        """Forget a connection ($disconnect); its user, or None if it was not known."""
        ...

    def restore(self, connection_id: str, user_id: str) -> None:
        """A frame came on a connection Redis no longer knew (its data lost): know it again."""
        ...

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each user's live connections."""
        ...

    def remove(self, user_id: str, connection_id: str) -> Departure:
        """Forget a connection that is gone (410), even when its own entry expired."""
        ...


@dataclass(frozen=True)
class Seen:
    """A user's presence as the connection registry has it."""

    online: bool
    last_seen_ms: int | None  # offline: the last frame or goodbye of any of their connections
    changed_at_ms: int  # their last transition (0: unknown)
    shown: str | None  # the presence last pushed about them (mayachat.presence)


class PresenceRegistry(Protocol):
    def seen(self, user_ids: Sequence[str]) -> dict[str, Seen]:
        """Every user asked for (offline, lastSeen unknown, when Redis knows nothing)."""
        ...

    def show(self, shown: Mapping[str, str]) -> None:
        """Remember what was pushed about these users."""
        ...


@dataclass(frozen=True)
class PresenceProfile:
    hidden: bool = False
    last_seen: datetime | None = None  # the last one published, durable


class PresenceStore(Protocol):
    """Presence's durable part (MongoDB): who hides it, the last lastSeen, shared rooms."""

    def profiles(self, user_ids: Sequence[str]) -> dict[str, PresenceProfile]:
        """The users that have one (the others: visible, lastSeen unknown)."""
        ...

    def set_hidden(self, user_id: str, hidden: bool) -> None: ...

    def record_last_seen(self, last_seen: Mapping[str, datetime]) -> None:
        """Keep each user's latest lastSeen (never an older one)."""
        ...

    def rooms_with(self, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Every room any of these users is in: roomId -> its members."""
        ...


# (after, up_to]: the seqs above a cursor, up to a room's stable seq.
SeqRange = tuple[int, int]


class MembershipCache(Protocol):
    """A room's members, versioned (RoomMembers' version): never an older list than the
    newest a writer fenced."""

    def get(self, room_id: str) -> frozenset[str] | None: ...

    def put(self, room_id: str, members: frozenset[str], version: int) -> bool:
        """Cache the list unless a newer version was fenced; whether it was cached."""
        ...

    def fence(self, room_id: str, version: int) -> None:
        """A change to `version` is about to be written: drop the cached list and refuse
        any older one from now on."""
        ...


class RoomDirectory(Protocol):
    """The durable record of rooms and their members (MongoDB)."""

    def members(self, room_id: str) -> tuple[frozenset[str], int] | None:
        """The room's members and their version, or None when there is no such room."""
        ...


class SeqReservations(Protocol):
    """Durable, numbered blocks of a room's sequence numbers."""

    def claim_block(self, room_id: str) -> int:
        """Claim a block number no one has claimed for this room, higher than every block
        claimed before; blocks start at 0."""
        ...


class SequenceAllocator(Protocol):
    def latest(self, room_id: str) -> int:
        """The last seq handed out (after a loss of Redis: past every seq that may exist)."""
        ...

    def lag(self, room_id: str, durable: int) -> Lag:
        """How the room's durable stable seq compares with what Redis knows."""
        ...


@dataclass(frozen=True)
class Lag:
    # The room's stable seq (every seq at or below it is in the log or given up), when it is
    # ahead of the durable one and no one asked to publish it within the last second.
    publish: int | None
    # Seqs were handed out beyond the durable stable seq: catch-up has more on its way.
    behind: bool


@dataclass(frozen=True)
class Claim:
    """What a send stands for: a new message, or the one an earlier send of the same
    (room, sender, clientMsgId) created, with the seq it is to be logged under."""

    message: Message
    acked: bool  # the log holds it already: answer with its ack, log nothing
    member: str  # its entry among the room's pending seqs, for confirm()
    stable_before: int | None  # the room's stable seq when its seq was taken; None: unknown
    # The room's members as the claim read them (claim_as_member), for the fan-out.
    members: frozenset[str] = frozenset()

    def stable_once_logged(self) -> int | None:
        """The stable seq the log record may announce: its own seq when every lower one
        was settled before it was taken (the usual case), else what was stable then."""
        if self.stable_before is None:
            return None
        if self.stable_before == self.message.seq - 1:
            return self.message.seq
        return self.stable_before


class SendLedger(Protocol):
    """First-writer-wins claims on (room, sender, clientMsgId), and the room's seqs."""

    def claim(self, draft: Message) -> Claim:
        """Claim the draft's clientMsgId in its room (draft.seq is ignored), or answer what
        an earlier send of it claimed. A message not yet acked keeps its seq while that is
        pending, else gets a fresh one. One atomic step."""
        ...

    def claim_as_member(self, draft: Message) -> Claim | None:
        """claim(), in the same atomic step as checking the sender against the room's cached
        member list (the claim carries the members): one round trip for both. None when no
        list is cached: read the directory, then claim(). Raises NotAMember, claiming
        nothing, when the list does not have the sender."""
        ...

    def confirm(self, claim: Claim) -> None:
        """The log holds the message: resends get its ack; its seq is settled."""
        ...


@dataclass(frozen=True)
class SeqTicket:
    """A seq taken for a record that is not a message (an edit, deletion or reaction): it
    orders the room's changes, and counts in its stable seq as a message's does, so
    catch-up serves a change only once it is applied."""

    seq: int
    member: str  # its entry among the room's pending seqs, for settle()
    stable_before: int | None

    def stable_once_logged(self) -> int | None:
        if self.stable_before is None:
            return None
        return self.seq if self.stable_before == self.seq - 1 else self.stable_before


class ChangeSeqs(Protocol):
    def take(self, room_id: str) -> SeqTicket: ...

    def settle(self, room_id: str, ticket: SeqTicket) -> None:
        """The log holds the record: its seq is settled."""
        ...


@dataclass(frozen=True)
class LogRecord:
    topic: str
    key: str | bytes | None
    value: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class LogPosition:
    topic: str
    partition: int
    offset: int


class EventLog(Protocol):
    """The durable log (Kafka). `append` returns only once the log holds the record."""

    def append(self, record: LogRecord) -> LogPosition: ...


class InFlight(Protocol):
    """A record handed to the log, not yet confirmed."""

    def wait(self) -> LogPosition:
        """Once the log holds the record; LogUnavailable if it did not confirm it in time."""
        ...


class SendLog(EventLog, Protocol):
    """The log as the send uses it: the record handed over at once, waited for after the
    send's reads are done (they overlap the broker's round trip)."""

    def start(self, record: LogRecord) -> InFlight:
        """Hand the record over (LogUnavailable if refused at once); wait() for it."""
        ...


class NotAMember(Exception):
    """The room's cached member list does not have the sender."""


class LogUnavailable(Exception):
    """The log did not confirm the record in time; it may or may not hold it."""


@dataclass(frozen=True)
class Slice:
    """A room's records in (after, up_to], at most `limit` of them: its messages, in seq
    order and their current state, and the older messages that changes among them changed
    (edited, deleted, reacted to), in their current state."""

    messages: list[Message]
    updates: list[Message]
    last_seq: int  # the highest seq the slice covers: the next slice starts after it
    has_more: bool  # records above last_seq, up to up_to, did not fit


class MessageArchive(Protocol):
    """The queryable store of every persisted message (MongoDB)."""

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[Slice, int]:
        """The slice of (after_seq, the room's durable stable seq], and that stable seq:
        every acked message and change at or below it is stored."""
        ...


class Cursors(Protocol):
    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None: ...

    def positions(self, room_id: str, user_ids: Sequence[str], kind: ReceiptKind) -> dict[str, int]:
        """The cursors of those who have one, in one round trip."""
        ...

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        """Move the cursor forward to `up_to_seq`; False (and no change) if not forward."""
        ...


class RateLimiter(Protocol):
    def take(self, user_id: str, buckets: Buckets, cost: int = 1) -> float:
        """`cost` tokens from each of the user's buckets, all or none: 0.0 when taken, else
        the seconds until they would be (for Retry-After)."""
        ...

    def admit(
        self, user_id: str, buckets: Buckets, cost: int = 1, heartbeat: str | None = None
    ) -> Admission:
        """As `take`, and the first bucket's strikes: one per refusal, forgiven over time.
        `heartbeat`: the frame's connection, whose last frame is now (refused or not)."""
        ...

    def owe(self, user_id: str, buckets: Buckets, seconds: float) -> None:
        """Empty the buckets and put them `seconds` of refill in debt (a penalty)."""
        ...


@dataclass(frozen=True)
class Posted:
    """What became of a round of posts: the connections that are gone (410), and how many
    posts failed for good (logged, counted, otherwise ignored: the message is in the log)."""

    gone: frozenset[str] = frozenset()
    failed: int = 0


class ConnectionGateway(Protocol):
    """Posts frames to connections (API Gateway Management API)."""

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> Posted:
        """Send every (connection_id, frame) concurrently."""
        ...

    def close(self, connection_id: str) -> None:
        """Close the connection (the server side of it); a gone one is fine."""
        ...


# -- edits, deletions and reactions (mayachat.message_actions) ------------------------------


@dataclass(frozen=True)
class MessageFacts:
    """What the rules of edits, deletions and reactions need of a message."""

    sender_id: str
    created_at_ms: int
    content_type: str
    client_msg_id: str
    deleted: bool = False
    version: int = 0  # the seq of its newest change
    reactions: Mapping[str, Sequence[str]] = field(default_factory=dict)  # emoji -> who


@dataclass(frozen=True)
class Begun:
    facts: MessageFacts
    now_ms: int  # the store's clock, for the edit window


class MessageStates(Protocol):
    """Each recent message's facts in Redis (its room's slot), from its send on: what the
    rules of its changes read."""

    def begin(self, room_id: str, message_id: str) -> Begun | None:
        """The facts, or None when Redis does not know the message (its state expired or
        was lost: seed it from MongoDB)."""
        ...

    def seed(self, room_id: str, message_id: str, facts: MessageFacts) -> None:
        """Know the message again (a no-op if Redis learned it meanwhile)."""
        ...

    def apply(self, change: Change, facts: MessageFacts) -> dict[str, int]:
        """The logged change, applied to the facts (a deletion also drops what the send
        claim kept of its content); the message's reaction counts after it."""
        ...


class MessageLookup(Protocol):
    """The persisted view of a message and its room (MongoDB), for what Redis does not know."""

    def message(self, message_id: str) -> Message | None: ...

    def room(self, room_id: str) -> Room | None: ...


class ChangeOutcome(StrEnum):
    APPLIED = "applied"  # applied now, or already (a redelivery), or older than the stored
    NOT_YET = "not_yet"  # its message is not stored yet: retry (it is on its way)
    FAILED = "failed"  # a transient error: retry later


class StoreOutcome(StrEnum):
    STORED = "stored"  # written now
    DUPLICATE = "duplicate"  # already there (a redelivery or a resend): nothing changed
    CONFLICT = "conflict"  # can never be stored as is (e.g. its room seq belongs to another)
    FAILED = "failed"  # a transient error: retry later


class MessageStore(Protocol):
    """The persist side of MongoDB: bulk, idempotent writes."""

    def store_messages(self, messages: Sequence[Message]) -> list[StoreOutcome]:
        """One outcome per message, in order."""
        ...

    def apply_receipts(self, receipts: Sequence[Receipt]) -> list[bool]:
        """Move each member's cursor forward ($max); False where a transient error hit."""
        ...

    def raise_stable(self, stable: Mapping[str, int]) -> bool:
        """Raise each room's durable stable seq (never lower it); False on a transient error."""
        ...

    def apply_changes(self, changes: Sequence[Change]) -> list[ChangeOutcome]:
        """Apply edits, deletions and reactions where newer than what is stored (a deletion
        always, and nothing after it); one outcome per change, in order."""
        ...

    def attachments_of(self, message_ids: Sequence[str]) -> dict[str, str]:
        """message id -> the attachment id of its content, for those that have one."""
        ...


class AttachmentKeeper(Protocol):
    """What persist does to uploads (S3): an upload a message refers to is kept, the one a
    deleted message referred to goes. Both idempotent; both raise on a transient error."""

    def keep(self, room_id: str, attachment_id: str) -> None: ...

    def forget(self, room_id: str, attachment_id: str) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


class DeadLetters(Protocol):
    """Where records that can never be stored go, with the reason (raises if it cannot)."""

    def send(self, letter: DeadLetter) -> None: ...


class ChatReads(Protocol):
    """What the REST API reads from MongoDB (the persisted view)."""

    def room(self, room_id: str) -> Room | None: ...

    def rooms_of(self, user_id: str) -> list[Room]: ...

    def room_activity(self, user_id: str) -> list[tuple[str, datetime]]:
        """(room id, last activity: its last message, else its creation) of each of the
        user's rooms: the small projection a page of the room list is chosen from."""
        ...

    def rooms(self, room_ids: Sequence[str]) -> list[Room]:
        """These rooms (in no order); absent ones are left out."""
        ...

    def room_count(self, user_id: str, at_most: int) -> int:
        """How many rooms the user is in, counting no further than `at_most`."""
        ...

    def message(self, message_id: str) -> Message | None: ...

    def history(
        self, room_id: str, *, before: int | None, after: int | None, up_to: int, limit: int
    ) -> list[Message]:
        """Newest first below `before` (or from the newest); oldest first above `after`;
        never past `up_to` (the room's stable seq)."""
        ...

    def slice(self, room_id: str, after: int, up_to: int, limit: int) -> Slice:
        """Catch-up from a cursor: MessageArchive's slice, below a stable seq read already."""
        ...

    def cursors(self, user_id: str, room_ids: Sequence[str]) -> dict[str, Cursor]: ...

    def unread_counts(self, user_id: str, unread: Mapping[str, SeqRange]) -> dict[str, int]:
        """Per room: messages in (read cursor, stable seq] not sent by the user."""
        ...

    def unread_messages(
        self, user_id: str, unread: Mapping[str, SeqRange], limit: int
    ) -> list[Message]: ...

    def stats(self, room_id: str) -> RoomStats: ...


class StatsCache(Protocol):
    """A room's statistics for a short while: the $group behind them scans the whole room,
    so however many members ask, it runs at most once per TTL per room."""

    def get(self, room_id: str) -> RoomStats | None: ...

    def put(self, room_id: str, stats: RoomStats) -> None: ...


class RoomWrites(Protocol):
    def create(self, room: Room) -> bool:
        """Insert the room; False if a room with its id exists already."""
        ...

    def add_members(self, room_id: str, user_ids: Sequence[str], version: int) -> Room | None:
        """Add them; the room after, or None if it is gone."""
        ...

    def remove_member(
        self, room_id: str, user_id: str, roles: Mapping[str, str], version: int
    ) -> Room | None: ...

    def set_roles(self, room_id: str, roles: Mapping[str, str], version: int) -> Room | None: ...


# -- push notifications (mayachat.push, mayachat.notify) -----------------------------------


class DeviceRegistry(Protocol):
    """The users' devices. A push token is one device's of one user: registering it again,
    from whichever user or device, moves it (a phone signed in as someone else)."""

    def register(self, device: Device) -> Device:
        """Store it (replacing this device's earlier token); the device as stored, with the
        endpoint of its token when one was made already."""
        ...

    def of_users(self, user_ids: Sequence[str]) -> dict[str, list[Device]]: ...

    def remove(self, user_id: str, device_id: str) -> bool: ...

    def set_endpoint(self, device: Device, endpoint: str) -> None: ...

    def forget(self, device: Device) -> None:
        """Its endpoint is disabled or invalid (the app was removed, the token expired)."""
        ...


class PushPreferenceStore(Protocol):
    def of_users(self, user_ids: Sequence[str]) -> dict[str, PushPreferences]: ...

    def set_preview(self, user_id: str, show: bool) -> None: ...

    def mute(self, user_id: str, room_id: str, until: datetime | None) -> None: ...

    def unmute(self, user_id: str, room_id: str) -> None: ...


class PushOutcome(StrEnum):
    SENT = "sent"
    GONE = "gone"  # the endpoint is disabled or invalid: forget the device


class PushThrottled(Exception):
    """The push service refused for now (throttled, briefly down): send again later."""


class PushSender(Protocol):
    def endpoint(self, device: Device) -> str:
        """The push endpoint of the device's token, made if needed (idempotent per token).
        LookupError: this deployment does not push to the device's platform."""
        ...

    def send(self, endpoint: str, device: Device, notification: Notification) -> PushOutcome:
        """Raises PushThrottled when it may work later."""
        ...


class PushLedger(Protocol):
    """Which (message, device) pushes were sent: a redelivered batch sends none twice."""

    def claim(self, message_id: str, device: Device) -> bool:
        """True if this push is this caller's to send (never claimed before)."""
        ...

    def release(self, message_id: str, device: Device) -> None:
        """The claimed push was not sent (a transient failure): the redelivery may send it."""
        ...
