"""The schema of what the route functions write to Kafka (schemaVersion 1), checked again by
the persist function: a record that does not match is dead-lettered, never half-stored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mayachat.fields import ClientMsgId, MessageId, RoomId, Seq, UserId
from mayachat.model import Message

# The header that carries a room's stable seq on a message record, and the event of a record
# that carries only that (docs/architecture.md, G2).
STABLE_SEQ_HEADER = "stableSeq"
STABLE_EVENT = "room.stable"

IsoTime = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WireMessage(_Record):
    messageId: MessageId
    roomId: RoomId
    seq: Seq
    senderId: UserId
    clientMsgId: ClientMsgId
    content: dict[str, Any]
    createdAt: IsoTime

    def message(self) -> Message:
        return Message(
            message_id=self.messageId,
            room_id=self.roomId,
            seq=self.seq,
            sender_id=self.senderId,
            client_msg_id=self.clientMsgId,
            content=self.content,
            created_at=self.createdAt,
        )


class WireReceipt(_Record):
    type: Literal["receipt"]
    roomId: RoomId
    userId: UserId
    kind: Literal["delivered", "read"]
    upToSeq: Seq
    at: IsoTime


class WireStable(_Record):
    """A room's stable seq, for the persist function (eventType `room.stable`)."""

    type: Literal["stable"]
    roomId: RoomId
    stableSeq: Seq
