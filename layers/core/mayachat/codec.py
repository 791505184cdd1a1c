"""Frames as bytes: decoding a client's, encoding ours, the error frame, the ids an error
echoes. No pydantic: every function uses these, and the frame models (mayachat.protocol) are
imported only where a frame is parsed."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mayachat.errors import ChatError, ErrorCode
from mayachat.frames import ErrorFrame
from mayachat.patterns import CLIENT_MSG_ID_PATTERN, MESSAGE_ID_PATTERN


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


_CLIENT_MSG_ID = re.compile(CLIENT_MSG_ID_PATTERN)
_MESSAGE_ID = re.compile(MESSAGE_ID_PATTERN)


def echoable_client_msg_id(value: object) -> str | None:
    """The frame's clientMsgId, for the error frame, if it is a valid one (never echo junk)."""
    return value if isinstance(value, str) and _CLIENT_MSG_ID.fullmatch(value) else None


def echoable_message_id(value: object) -> str | None:
    """The messageId an edit, delete or reaction names, for its error frame, if valid."""
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else None


def encode(frame: Mapping[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


def error_frame(error: ChatError) -> ErrorFrame:
    frame: ErrorFrame = {"type": "error", "code": error.code.value, "message": error.message}
    if error.client_msg_id:
        frame["clientMsgId"] = error.client_msg_id
    if error.message_id:
        frame["messageId"] = error.message_id
    if error.retry_after is not None:
        frame["retryAfterMs"] = max(1, round(error.retry_after * 1000))
    return frame
