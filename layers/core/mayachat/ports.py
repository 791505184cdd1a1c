"""The small interfaces the domain needs from the outside world. Adapters implement them
(mayachat.adapters.*); unit tests use in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from mayachat.model import Message, Receipt, ReceiptKind
from mayachat.views import Cursor, Room, RoomStats


class ConnectionRegistry(Protocol):
    """Who is connected where: user -> connections (several devices), connection -> user."""

    def register(self, connection_id: str, user_id: str) -> None: ...

    def unregister(self, connection_id: str) -> str | None:
        """Forget a connection; returns its user, or None if it was not known."""
        ...

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]: ...


class MembershipCache(Protocol):
    def get(self, room_id: str) -> frozenset[str] | None: ...

    def put(self, room_id: str, members: frozenset[str]) -> None: ...

    def invalidate(self, room_id: str) -> None: ...


class RoomDirectory(Protocol):
    """The durable record of rooms and their members (MongoDB)."""

    def members(self, room_id: str) -> frozenset[str] | None:
        """The room's members, or None when there is no such room."""
        ...


class SeqReservations(Protocol):
    """Durable, numbered blocks of a room's sequence numbers."""

    def claim_block(self, room_id: str) -> int:
        """Claim a block number no one has claimed for this room, higher than every block
        claimed before; blocks start at 0."""
        ...


class SequenceAllocator(Protocol):
    def next_seq(self, room_id: str) -> int: ...

    def latest(self, room_id: str) -> int | None:
        """The last seq handed out, when known."""
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


class LogUnavailable(Exception):
    """The log did not confirm the record in time; it may or may not hold it."""


class IdempotencyStore(Protocol):
    """First-writer-wins memory of (sender, clientMsgId) -> the message it created, and
    whether that message was acked (is in the log)."""

    def claim(
        self, sender_id: str, client_msg_id: str, message: Message
    ) -> tuple[Message, bool] | None:
        """Remember `message` unless one is remembered already; then return that one (and
        whether it was acked), remembering nothing new. One atomic step."""
        ...


class AckedMessages(Protocol):
    """What is remembered once the log holds a message, in one step: the sender's
    idempotency entry marked acked (a resend then gets this ack) and the message in its
    room's recent window (RecentMessages.after then serves it)."""

    def remember(self, message: Message) -> None: ...


class RecentMessages(Protocol):
    """A bounded per-room window of the latest messages, for fast `sync` (filled through
    AckedMessages)."""

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[list[Message], bool]:
        """Messages with seq > after_seq in seq order, and whether the window surely holds
        every one of them (False when it starts later, e.g. after trimming or a flush)."""
        ...


class MessageArchive(Protocol):
    """The queryable store of every persisted message (MongoDB)."""

    def after(self, room_id: str, after_seq: int, limit: int) -> list[Message]: ...


class Cursors(Protocol):
    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None: ...

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        """Move the cursor forward to `up_to_seq`; False (and no change) if not forward."""
        ...


class RateLimiter(Protocol):
    def allow(self, key: str) -> bool: ...


class ConnectionGateway(Protocol):
    """Posts frames to connections (API Gateway Management API)."""

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> set[str]:
        """Send every (connection_id, frame) concurrently; return the ids that are gone.

        A failed delivery is logged and otherwise ignored: the message is in the log.
        """
        ...


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

    def message(self, message_id: str) -> Message | None: ...

    def history(
        self, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> list[Message]:
        """Newest first below `before` (or from the newest); oldest first above `after`."""
        ...

    def cursors(self, user_id: str, room_ids: Sequence[str]) -> dict[str, Cursor]: ...

    def unread_counts(self, user_id: str, read_up_to: Mapping[str, int]) -> dict[str, int]:
        """Per room: messages above the read cursor not sent by the user."""
        ...

    def unread_messages(
        self, user_id: str, read_up_to: Mapping[str, int], limit: int
    ) -> list[Message]: ...

    def stats(self, room_id: str) -> RoomStats: ...


class RoomWrites(Protocol):
    def create(self, room: Room) -> bool:
        """Insert the room; False if a room with its id exists already."""
        ...

    def add_members(self, room_id: str, user_ids: Sequence[str]) -> None: ...

    def remove_member(self, room_id: str, user_id: str) -> None: ...
