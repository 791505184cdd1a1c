"""The field types of every boundary, one definition each: the WebSocket protocol, the REST
schemas, the log schema and the adapters validate ids and seqs by the same rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

# Tokens' `sub` (refused at the door otherwise), REST paths, frames and log records alike.
USER_ID_PATTERN = r"^[A-Za-z0-9_.@:|+-]{1,128}$"
ROOM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_MSG_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MESSAGE_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a ULID (mayachat.ids)
MAX_SEQ = 2**53  # a JSON number every client reads exactly

UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
RoomId = Annotated[str, Field(pattern=ROOM_ID_PATTERN)]
ClientMsgId = Annotated[str, Field(pattern=CLIENT_MSG_ID_PATTERN)]
MessageId = Annotated[str, Field(pattern=MESSAGE_ID_PATTERN)]
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
