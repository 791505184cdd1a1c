"""The domain's records, independent of AWS: a message, a receipt, a caller, and rooms as a member
sees them, with their cursors, statistics and pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mayachat.frames import (
    Ack,
    ActionAck,
    MessageChange,
    MessageDeleted,
    MessageEdited,
    ReactionEvent,
    ReceiptEvent,
    WireMessage,
)

# Clock skew allowed on a token's expiry, at the door and on an open socket.
TOKEN_LEEWAY_SECONDS = 30


def utc_now_iso() -> str:
    """ISO 8601 with milliseconds and a Z, as the protocol's createdAt."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(iso: str) -> int:
    """A protocol time (ISO 8601, Z) as milliseconds since the epoch."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass(frozen=True)
class Message:
    message_id: str
    room_id: str
    seq: int
    sender_id: str
    client_msg_id: str
    content: dict[str, Any]
    created_at: str
    # What edits, a deletion and reactions made of it (mayachat.message_actions); `version`
    # is the newest change applied, 0 for none.
    version: int = 0
    edited_at: str | None = None
    deleted_at: str | None = None
    deleted_by: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def to_wire(self) -> WireMessage:
        wire: WireMessage = {
            "messageId": self.message_id,
            "roomId": self.room_id,
            "seq": self.seq,
            "senderId": self.sender_id,
            "clientMsgId": self.client_msg_id,
            "content": self.content,
            "createdAt": self.created_at,
        }
        if self.version:
            wire["version"] = self.version
        if self.edited_at:
            wire["editedAt"] = self.edited_at
        if self.deleted_at:
            wire["deleted"] = True
            wire["deletedAt"] = self.deleted_at
            wire["deletedBy"] = self.deleted_by or self.sender_id
        if self.reactions:
            wire["reactions"] = self.reactions
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Message:
        return cls(
            message_id=str(data["messageId"]),
            room_id=str(data["roomId"]),
            seq=int(data["seq"]),
            sender_id=str(data["senderId"]),
            client_msg_id=str(data["clientMsgId"]),
            content=dict(data["content"]),
            created_at=str(data["createdAt"]),
        )

    def ack(self) -> Ack:
        return {
            "type": "ack",
            "clientMsgId": self.client_msg_id,
            "messageId": self.message_id,
            "roomId": self.room_id,
            "seq": self.seq,
            "createdAt": self.created_at,
        }


# A deleted message's content: nothing of what it said is kept.
DELETED_CONTENT: dict[str, Any] = {"type": "deleted"}


class ChangeKind(StrEnum):
    EDIT = "message.edited"
    DELETE = "message.deleted"
    REACT = "reaction"


@dataclass(frozen=True)
class Change:
    """An edit, deletion or reaction, as logged and applied. `version` is its seq in the room:
    it orders the changes of one message (a reaction: of one user's one emoji on it), the
    newest wins, a deletion always."""

    kind: ChangeKind
    room_id: str
    message_id: str
    user_id: str  # who made it
    version: int
    at: str = field(default_factory=utc_now_iso)
    content: dict[str, Any] | None = None  # an edit's new content
    emoji: str | None = None  # a reaction's
    added: bool = True  # a reaction added, or taken back

    def to_wire(self, counts: dict[str, int] | None = None) -> MessageChange:
        if self.kind is ChangeKind.EDIT:
            edited: MessageEdited = {
                "type": "message.edited",
                "roomId": self.room_id,
                "messageId": self.message_id,
                "content": self.content or {},
                "editedAt": self.at,
                "version": self.version,
            }
            return edited
        if self.kind is ChangeKind.DELETE:
            deleted: MessageDeleted = {
                "type": "message.deleted",
                "roomId": self.room_id,
                "messageId": self.message_id,
                "deletedBy": self.user_id,
                "deletedAt": self.at,
                "version": self.version,
            }
            return deleted
        reaction: ReactionEvent = {
            "type": "reaction",
            "roomId": self.room_id,
            "messageId": self.message_id,
            "userId": self.user_id,
            "emoji": self.emoji or "",
            "op": "add" if self.added else "remove",
            "version": self.version,
            "counts": counts or {},
        }
        return reaction

    def ack(self, action: str) -> ActionAck:
        return {
            "type": "ack",
            "action": action,
            "roomId": self.room_id,
            "messageId": self.message_id,
            "version": self.version,
        }


class ReceiptKind(StrEnum):
    DELIVERED = "delivered"
    READ = "read"


@dataclass(frozen=True)
class Receipt:
    room_id: str
    user_id: str
    kind: ReceiptKind
    up_to_seq: int
    at: str = field(default_factory=utc_now_iso)

    def to_wire(self) -> ReceiptEvent:
        return {
            "type": "receipt",
            "roomId": self.room_id,
            "userId": self.user_id,
            "kind": self.kind.value,
            "upToSeq": self.up_to_seq,
            "at": self.at,
        }


@dataclass(frozen=True)
class Caller:
    """Who sent a frame, over which connection (from the authorizer context)."""

    user_id: str
    connection_id: str


# -- rooms, as the REST API and the membership rules read them ------------------------------
class RoomType(StrEnum):
    DIRECT = "direct"
    GROUP = "group"


@dataclass(frozen=True)
class Room:
    room_id: str
    type: RoomType
    members: tuple[str, ...]
    created_by: str
    created_at: datetime
    name: str | None = None
    last_seq: int = 0
    # Catch-up (history, unread) serves no seq above it: every acked message at or below it
    # is stored (the persist function raises it; see docs/architecture.md, G2).
    stable_seq: int = 0
    last_message: dict[str, Any] | None = None
    updated_at: datetime | None = None
    # Group rooms: userId -> "owner" | "admin" (everyone else a plain member); mayachat.roles.
    roles: dict[str, str] = field(default_factory=dict)
    # Bumped by every change of members (a time in ns): the membership cache never takes an
    # older list than the newest it was told about.
    members_version: int = 0


@dataclass(frozen=True)
class Cursor:
    delivered_up_to_seq: int = 0
    read_up_to_seq: int = 0


@dataclass(frozen=True)
class RoomStats:
    message_count: int
    per_sender: dict[str, int]
    first_message_at: datetime | None
    last_message_at: datetime | None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    cursor: dict[str, int] | None = field(default=None)
    caught_up: bool = True  # false: more is on its way into the store
    updates: list[Any] = field(default_factory=list)  # catch-up: older messages changed since
    up_to_seq: int | None = None  # catch-up: the cursor to page from next
