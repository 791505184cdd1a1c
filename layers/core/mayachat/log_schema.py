"""The schema of what the route functions write to Kafka (schemaVersion 1), checked again by
the persist function: a record that does not match is dead-lettered, never half-stored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mayachat.fields import ClientMsgId, MessageId, RoomId, Seq, UserId
from mayachat.log_names import MESSAGE_CREATED, STABLE_EVENT, STABLE_SEQ_HEADER
from mayachat.model import Change, ChangeKind, Message

__all__ = ["MESSAGE_CREATED", "STABLE_EVENT", "STABLE_SEQ_HEADER"]
# An edit, deletion or reaction (eventType = its ChangeKind), keyed by room like messages.
CHANGE_EVENTS = frozenset(kind.value for kind in ChangeKind)

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


class WireChange(_Record):
    """An edit, deletion or reaction (mayachat.model.Change)."""

    type: Literal["message.edited", "message.deleted", "reaction"]
    roomId: RoomId
    messageId: MessageId
    userId: UserId
    version: Annotated[int, Field(ge=1, le=2**53)]
    at: IsoTime
    content: dict[str, Any] | None = None
    emoji: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    added: bool = True

    @model_validator(mode="after")
    def _complete(self) -> WireChange:
        if self.type == "message.edited" and not (self.content and self.content.get("text")):
            raise ValueError("an edit carries its new text content")
        if self.type == "reaction" and self.emoji is None:
            raise ValueError("a reaction carries its emoji")
        return self

    @classmethod
    def of(cls, change: Change) -> WireChange:
        return cls(
            type=change.kind.value,
            roomId=change.room_id,
            messageId=change.message_id,
            userId=change.user_id,
            version=change.version,
            at=change.at,
            content=change.content,
            emoji=change.emoji,
            added=change.added,
        )

    def change(self) -> Change:
        return Change(
            kind=ChangeKind(self.type),
            room_id=self.roomId,
            message_id=self.messageId,
            user_id=self.userId,
            version=self.version,
            at=self.at,
            content=self.content,
            emoji=self.emoji,
            added=self.added,
        )
