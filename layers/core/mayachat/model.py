"""The domain's records: what a message, a receipt and a connection are, independent of AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mayachat.frames import Ack, ReceiptEvent, WireMessage

# Clock skew allowed on a token's expiry, at the door and on an open socket.
TOKEN_LEEWAY_SECONDS = 30


def utc_now_iso() -> str:
    """ISO 8601 with milliseconds and a Z, as the protocol's createdAt."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Message:
    message_id: str
    room_id: str
    seq: int
    sender_id: str
    client_msg_id: str
    content: dict[str, Any]
    created_at: str

    def to_wire(self) -> WireMessage:
        return {
            "messageId": self.message_id,
            "roomId": self.room_id,
            "seq": self.seq,
            "senderId": self.sender_id,
            "clientMsgId": self.client_msg_id,
            "content": self.content,
            "createdAt": self.created_at,
        }

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
