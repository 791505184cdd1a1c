"""The client protocol v1: inbound frames, validated at the edge into typed commands.

Unknown extra fields are ignored (clients may be newer than us); a missing or mistyped field is
`invalid_field` naming the field; a text over the limit is `too_long`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from mayachat.errors import ChatError, ErrorCode
from mayachat.fields import CLIENT_MSG_ID_PATTERN, ClientMsgId, RoomId, Seq
from mayachat.frames import ErrorFrame


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class TextContent(Frame):
    type: Literal["text"]
    text: Annotated[str, Field(min_length=1)]


class SendMessageFrame(Frame):
    action: Literal["sendMessage"]
    roomId: RoomId
    clientMsgId: ClientMsgId
    content: TextContent


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


class PingFrame(Frame):
    action: Literal["ping"]


# Not PEP 695 syntax: the package stays importable on Python 3.11.
F = TypeVar("F", bound=Frame)


def decode_body(body: str | None, max_bytes: int) -> dict[str, Any]:
    """The frame as a JSON object, or the ChatError that says why it is not one."""
    raw = body or ""
    if len(raw.encode()) > max_bytes:
        raise ChatError(ErrorCode.FRAME_TOO_LARGE, f"frame is over {max_bytes} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ChatError(ErrorCode.INVALID_JSON, "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.NOT_AN_OBJECT, "frame must be a JSON object")
    return data


def parse_frame(model: type[F], data: dict[str, Any], *, max_text: int) -> F:
    client_msg_id = echoable_client_msg_id(data.get("clientMsgId"))
    try:
        frame = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "frame"
        raise ChatError(
            ErrorCode.INVALID_FIELD, f"{where}: {first['msg']}", client_msg_id=client_msg_id
        ) from None
    if isinstance(frame, SendMessageFrame) and len(frame.content.text) > max_text:
        raise ChatError(
            ErrorCode.TOO_LONG,
            f"content.text: {len(frame.content.text)} characters, the limit is {max_text}",
            client_msg_id=client_msg_id,
        )
    return frame


_CLIENT_MSG_ID = re.compile(CLIENT_MSG_ID_PATTERN)


def echoable_client_msg_id(value: object) -> str | None:
    """The frame's clientMsgId, for the error frame, if it is a valid one (never echo junk)."""
    return value if isinstance(value, str) and _CLIENT_MSG_ID.fullmatch(value) else None


def encode(frame: Mapping[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


def error_frame(error: ChatError) -> ErrorFrame:
    frame: ErrorFrame = {"type": "error", "code": error.code.value, "message": error.message}
    if error.client_msg_id:
        frame["clientMsgId"] = error.client_msg_id
    if error.retry_after is not None:
        frame["retryAfterMs"] = max(1, round(error.retry_after * 1000))
    return frame
