"""The frames the server sends, typed: what the services return and deliver, as AsyncAPI
documents them (docs/asyncapi.yaml; tests/unit/test_routes.py checks the two agree).

TypedDicts, not models: a frame is built on the hot path and encoded straight to JSON, so its
type costs nothing at run time.
"""

from typing import Any, Literal, NotRequired, TypedDict


class WireMessage(TypedDict):
    messageId: str
    roomId: str
    seq: int
    senderId: str
    clientMsgId: str
    content: dict[str, Any]  # {"type": "deleted"} once deleted
    createdAt: str
    # Its state after edits, a deletion and reactions (catch-up; live, the events below):
    # `version` orders them, a client keeps the highest it has seen.
    version: NotRequired[int]
    editedAt: NotRequired[str]
    deleted: NotRequired[bool]
    deletedAt: NotRequired[str]
    deletedBy: NotRequired[str]
    reactions: NotRequired[dict[str, list[str]]]  # emoji -> who, in the order they reacted


class Ack(TypedDict):
    type: Literal["ack"]
    clientMsgId: str
    messageId: str
    roomId: str
    seq: int
    createdAt: str


class ActionAck(TypedDict):
    """The answer to editMessage, deleteMessage and react: the log holds the change."""

    type: Literal["ack"]
    action: str
    roomId: str
    messageId: str
    version: int


class MessageEdited(TypedDict):
    type: Literal["message.edited"]
    roomId: str
    messageId: str
    content: dict[str, Any]
    editedAt: str
    version: int


class MessageDeleted(TypedDict):
    type: Literal["message.deleted"]
    roomId: str
    messageId: str
    deletedBy: str
    deletedAt: str
    version: int


class ReactionEvent(TypedDict):
    type: Literal["reaction"]
    roomId: str
    messageId: str
    userId: str
    emoji: str
    op: str  # "add" | "remove"
    version: int
    counts: dict[str, int]  # every kind on the message now, and how many chose it


class MessageEvent(TypedDict):
    type: Literal["message"]
    message: WireMessage


class TypingEvent(TypedDict):
    type: Literal["typing"]
    roomId: str
    userId: str
    isTyping: bool


class ReceiptEvent(TypedDict):
    type: Literal["receipt"]
    roomId: str
    userId: str
    kind: str
    upToSeq: int
    at: str


class SyncPage(TypedDict):
    type: Literal["sync"]
    roomId: str
    messages: list[WireMessage]
    updates: list[WireMessage]  # older messages changed since the cursor, as they are now
    hasMore: bool
    final: bool
    caughtUp: NotRequired[bool]  # on the final frame of a page
    upToSeq: NotRequired[int]  # on the final frame: the cursor to sync from next


class UserPresence(TypedDict):
    userId: str
    online: bool
    lastSeen: NotRequired[str]  # offline, and known and shown: when they were last there


class PresenceFrame(TypedDict):
    """The answer to `presence` (with its roomId), or a change pushed (without)."""

    type: Literal["presence"]
    roomId: NotRequired[str]
    users: list[UserPresence]


class Pong(TypedDict):
    type: Literal["pong"]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    clientMsgId: NotRequired[str]
    messageId: NotRequired[str]
    retryAfterMs: NotRequired[int]


class MembersAdded(TypedDict):
    type: Literal["member.added"]
    roomId: str
    userIds: list[str]
    by: str


class MemberRemoved(TypedDict):
    type: Literal["member.removed"]
    roomId: str
    userId: str
    by: str


class MemberRole(TypedDict):
    type: Literal["member.role"]
    roomId: str
    userId: str
    role: str


MemberChange = MembersAdded | MemberRemoved | MemberRole
MessageChange = MessageEdited | MessageDeleted | ReactionEvent
ServerFrame = (
    Ack
    | ActionAck
    | MessageEvent
    | MessageChange
    | TypingEvent
    | ReceiptEvent
    | SyncPage
    | PresenceFrame
    | Pong
    | ErrorFrame
    | MemberChange
)
