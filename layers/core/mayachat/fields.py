"""The field types of every boundary, one definition each: the WebSocket protocol, the REST
schemas, the log schema and the adapters validate ids and seqs by the same rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from mayachat.patterns import (
    CLIENT_MSG_ID_PATTERN,
    MAX_SEQ,
    MESSAGE_ID_PATTERN,
    ROOM_ID_PATTERN,
    USER_ID_PATTERN,
)

UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
RoomId = Annotated[str, Field(pattern=ROOM_ID_PATTERN)]
ClientMsgId = Annotated[str, Field(pattern=CLIENT_MSG_ID_PATTERN)]
MessageId = Annotated[str, Field(pattern=MESSAGE_ID_PATTERN)]
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]

__all__ = [
    "CLIENT_MSG_ID_PATTERN",
    "MAX_SEQ",
    "MESSAGE_ID_PATTERN",
    "ROOM_ID_PATTERN",
    "USER_ID_PATTERN",
    "ClientMsgId",
    "MessageId",
    "RoomId",
    "Seq",
    "UserId",
]
