"""The client protocol v1: inbound frames, validated at the edge into typed commands.

Unknown extra fields are ignored (clients may be newer than us); a missing or mistyped field is
`invalid_field` naming the field; a text over the limit is `too_long`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from mayachat.codec import (
    decode_body,
    echoable_client_msg_id,
    echoable_message_id,
    encode,
    error_frame,
)
from mayachat.errors import ChatError, ErrorCode
from mayachat.fields import ClientMsgId, MessageId, RoomId, Seq, UserId


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class TextContent(Frame):
    type: Literal["text"]
    text: Annotated[str, Field(min_length=1)]


# An attachment uploaded to the room (POST /api/rooms/{roomId}/attachments) and what the
# client says of it; `text` is a caption. Downloads are for the room's members only.
class _AttachmentContent(Frame):
    attachmentId: MessageId
    name: Annotated[str, Field(min_length=1, max_length=255)]
    size: Annotated[StrictInt, Field(ge=1)]
    mimeType: Annotated[str, Field(max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    text: Annotated[str, Field(min_length=1)] | None = None


Dimension = Annotated[StrictInt, Field(ge=1, le=100_000)]


class ImageContent(_AttachmentContent):
    type: Literal["image"]
    width: Dimension | None = None
    height: Dimension | None = None


class FileContent(_AttachmentContent):
    type: Literal["file"]


Content = Annotated[TextContent | ImageContent | FileContent, Field(discriminator="type")]


class SendMessageFrame(Frame):
    action: Literal["sendMessage"]
    roomId: RoomId
    clientMsgId: ClientMsgId
    content: Content


class EditMessageFrame(Frame):
    action: Literal["editMessage"]
    roomId: RoomId
    messageId: MessageId
    content: TextContent  # only text is edited; a photo is deleted and sent again


class DeleteMessageFrame(Frame):
    action: Literal["deleteMessage"]
    roomId: RoomId
    messageId: MessageId


# One emoji as users pick it: a pictograph with its modifiers (variation selector, skin tone,
# keycap, tag sequence), a ZWJ sequence of those (a family), or a flag; never two of them.
_PICTOGRAPH = (
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2300-\u23FF\u2B00-\u2BFF\u3030\u303D\u3297"
    r"\u3299\u00A9\u00AE\u203C\u2049\u2122\u2139\u2194-\u21AA]"
)
_MODIFIERS = r"[\uFE0F\u20E3\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]*"
EMOJI_PATTERN = (
    rf"^(?:[\U0001F1E6-\U0001F1FF]{{2}}"
    rf"|{_PICTOGRAPH}{_MODIFIERS}(?:\u200D{_PICTOGRAPH}{_MODIFIERS})*)$"
)


class ReactFrame(Frame):
    action: Literal["react"]
    roomId: RoomId
    messageId: MessageId
    emoji: Annotated[str, Field(min_length=1, max_length=10, pattern=EMOJI_PATTERN)]
    op: Literal["add", "remove"]


class TypingFrame(Frame):
    action: Literal["typing"]
    roomId: RoomId
    isTyping: StrictBool


class MarkFrame(Frame):
    action: Literal["markDelivered", "markRead"]
    roomId: RoomId
    upToSeq: Seq


class SyncFrame(Frame):
    action: Literal["sync"]
    roomId: RoomId
    afterSeq: Seq
    limit: Annotated[StrictInt, Field(ge=1, le=500)] | None = None


class PresenceAskFrame(Frame):
    action: Literal["presence"]
    roomId: RoomId
    # Whom to ask about (members only; others are left out); all the room's others without.
    userIds: Annotated[list[UserId], Field(min_length=1, max_length=100)] | None = None


class PingFrame(Frame):
    action: Literal["ping"]


# Not PEP 695 syntax: the package stays importable on Python 3.11.
F = TypeVar("F", bound=Frame)


def parse_frame(model: type[F], data: dict[str, Any], *, max_text: int) -> F:
    client_msg_id = echoable_client_msg_id(data.get("clientMsgId"))
    try:
        frame = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) > 2 and loc[0] == "content":
            del loc[1]  # the content type: pydantic names the union's branch in the path
        where = ".".join(str(part) for part in loc) or "frame"
        raise ChatError(
            ErrorCode.INVALID_FIELD,
            f"{where}: {first['msg']}",
            client_msg_id=client_msg_id,
            message_id=echoable_message_id(data.get("messageId")),
        ) from None
    text = getattr(getattr(frame, "content", None), "text", None)
    if text is not None and len(text) > max_text:
        raise ChatError(
            ErrorCode.TOO_LONG,
            f"content.text: {len(text)} characters, the limit is {max_text}",
            client_msg_id=client_msg_id,
            message_id=getattr(frame, "messageId", None),
        )
    return frame


__all__ = ["decode_body", "echoable_client_msg_id", "echoable_message_id", "encode", "error_frame"]
