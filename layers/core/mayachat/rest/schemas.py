"""Request and response bodies. Strict types: an operator object such as {"$gt": ""} where
an id belongs is a 422 naming the field, so nothing of the kind reaches MongoDB."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mayachat.fields import MessageId, RoomId, Seq, UserId
from mayachat.model import Message, Room
from mayachat.push import Device, PushPreferences
from mayachat.room_admin import RoomListing


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MessageOut(BaseModel):
    messageId: str
    roomId: str
    seq: int
    senderId: str
    clientMsgId: str
    content: dict[str, Any] = Field(description='{"type": "deleted"} once deleted')
    createdAt: str
    version: int | None = Field(default=None, description="the seq of its newest change")
    editedAt: str | None = None
    deleted: bool | None = None
    deletedAt: str | None = None
    deletedBy: str | None = None
    reactions: dict[str, list[str]] | None = Field(
        default=None, description="emoji -> who chose it, in the order they did"
    )

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(**message.to_wire())


class HistoryOut(BaseModel):
    roomId: str
    messages: list[MessageOut]
    hasMore: bool
    nextCursor: dict[str, int] | None = Field(
        description="Pass as query parameters to get the next page (before=... or after=...)"
    )
    caughtUp: bool = Field(
        default=True,
        description="false: newer messages are on their way into the store; page again "
        "from your cursor in a moment (pages never skip them)",
    )
    updates: list[MessageOut] = Field(
        default_factory=list,
        description="after=...: older messages edited, deleted or reacted to since the "
        "cursor, as they are now",
    )
    upToSeq: int | None = Field(
        default=None,
        description="after=...: your cursor from now on (changes take seqs too)",
    )


class UnreadOut(BaseModel):
    userId: str
    total: int
    rooms: dict[str, int] = Field(description="unread count per room")
    messages: list[MessageOut] = Field(description="oldest first per room, capped")


class DeliveredIn(Body):
    """Either a room and a seq, or message ids (up to 100)."""

    roomId: RoomId | None = None
    upToSeq: Seq | None = None
    messageIds: Annotated[list[MessageId], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DeliveredIn:
        by_room = self.roomId is not None or self.upToSeq is not None
        if by_room == (self.messageIds is not None):
            raise ValueError("give either roomId with upToSeq, or messageIds")
        if by_room and (self.roomId is None or self.upToSeq is None):
            raise ValueError("roomId and upToSeq go together")
        return self


class MarkedOut(BaseModel):
    kind: Literal["delivered", "read"]
    rooms: dict[str, int] = Field(description="the cursor asked for, per room")


class StatusIn(Body):
    status: Literal["delivered", "read"]


class StatusOut(BaseModel):
    messageId: str
    roomId: str
    status: Literal["delivered", "read"]
    upToSeq: int


class StatsOut(BaseModel):
    roomId: str
    messageCount: int
    perSender: dict[str, int]
    unreadCount: int
    firstMessageAt: datetime | None
    lastMessageAt: datetime | None


class RoomCreateIn(Body):
    type: Literal["direct", "group"]
    members: Annotated[list[UserId], Field(min_length=1, max_length=999)]
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class MembersIn(Body):
    userIds: Annotated[list[UserId], Field(min_length=1, max_length=100)]


class RoleIn(Body):
    role: Literal["admin", "member"]


class RoomOut(BaseModel):
    roomId: str
    type: Literal["direct", "group"]
    name: str | None
    members: list[str]
    roles: dict[str, str] = Field(
        default_factory=dict,
        description='group rooms: userId -> "owner" | "admin"; everyone else is a member',
    )
    createdBy: str
    createdAt: datetime
    lastSeq: int
    lastMessage: dict[str, Any] | None
    updatedAt: datetime | None

    @classmethod
    def of(cls, room: Room) -> RoomOut:
        return cls(
            roomId=room.room_id,
            type=room.type.value,
            name=room.name,
            members=list(room.members),
            roles=dict(room.roles),
            createdBy=room.created_by,
            createdAt=room.created_at,
            lastSeq=room.last_seq,
            lastMessage=room.last_message,
            updatedAt=room.updated_at,
        )


class RoomListingOut(RoomOut):
    unreadCount: int
    deliveredUpToSeq: int
    readUpToSeq: int

    @classmethod
    def listing(cls, item: RoomListing) -> RoomListingOut:
        return cls(
            **RoomOut.of(item.room).model_dump(),
            unreadCount=item.unread_count,
            deliveredUpToSeq=item.cursor.delivered_up_to_seq,
            readUpToSeq=item.cursor.read_up_to_seq,
        )


class RoomsOut(BaseModel):
    rooms: list[RoomListingOut]
    nextCursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last one"
    )


DEVICE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# FCM registration tokens and APNs device tokens (hex) are both within this.
PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9_.:-]{8,4096}$"  # noqa: S105 - a pattern, not a secret


class DeviceIn(Body):
    platform: Literal["FCM", "APNS", "APNS_SANDBOX"]
    token: Annotated[str, Field(pattern=PUSH_TOKEN_PATTERN)]


class DeviceOut(BaseModel):
    deviceId: str
    platform: str
    # The token's end only: enough for the user to tell devices apart, not to reuse it.
    tokenEnd: str

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            deviceId=device.device_id, platform=device.platform.value, tokenEnd=device.token[-6:]
        )


class DevicesOut(BaseModel):
    devices: list[DeviceOut]


class PushPreferencesIn(Body):
    showPreview: bool


class MutedRoomOut(BaseModel):
    roomId: str
    until: datetime | None = Field(description="null: muted until unmuted")


class PushPreferencesOut(BaseModel):
    showPreview: bool
    mutedRooms: list[MutedRoomOut]

    @classmethod
    def of(cls, preferences: PushPreferences) -> PushPreferencesOut:
        return cls(
            showPreview=preferences.show_preview,
            mutedRooms=[
                MutedRoomOut(roomId=r, until=u) for r, u in sorted(preferences.muted.items())
            ],
        )


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # not strict: `until` is an ISO string in JSON

    until: datetime | None = None

    @model_validator(mode="after")
    def _aware(self) -> MuteIn:
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until: give a time zone (e.g. 2026-12-24T18:00:00Z)")
        return self


class UserPresenceOut(BaseModel):
    userId: str
    online: bool
    lastSeen: datetime | None = Field(
        default=None, description="offline only; absent when hidden or never seen"
    )


class PresenceOut(BaseModel):
    roomId: str
    users: list[UserPresenceOut]


class PresenceSettingsIn(Body):
    hidden: bool = Field(description="appear offline without lastSeen, and see others so")


class PresenceSettingsOut(BaseModel):
    hidden: bool
