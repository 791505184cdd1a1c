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
    content: dict[str, Any]
    createdAt: str


class Ack(TypedDict):
    type: Literal["ack"]
    clientMsgId: str
    messageId: str
    roomId: str
    seq: int
    createdAt: str


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
    hasMore: bool
    final: bool
    caughtUp: NotRequired[bool]  # on the final frame of a page


class Pong(TypedDict):
    type: Literal["pong"]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    clientMsgId: NotRequired[str]
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
ServerFrame = (
    Ack | MessageEvent | TypingEvent | ReceiptEvent | SyncPage | Pong | ErrorFrame | MemberChange
)
