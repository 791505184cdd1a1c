"""/api/messages: the original Node.js backend's endpoints, at their paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mayachat import bootstrap
from mayachat.catch_up import CatchUp, ensure_self
from mayachat.errors import Invalid
from mayachat.fields import MESSAGE_ID_PATTERN, ROOM_ID_PATTERN, USER_ID_PATTERN
from mayachat.model import ReceiptKind
from mayachat.rest.schemas import (
    DeliveredIn,
    HistoryOut,
    MarkedOut,
    MessageOut,
    StatsOut,
    StatusIn,
    StatusOut,
    UnreadOut,
)
from mayachat.rest.security import CurrentUser

router = APIRouter(prefix="/api/messages", tags=["messages"])

Service = Annotated[CatchUp, Depends(bootstrap.catch_up)]
RoomIdPath = Annotated[str, Path(pattern=ROOM_ID_PATTERN)]


@router.get(
    "/room/{roomId}",
    response_model=HistoryOut,
    summary="A room's messages: newest first, or after a seq (oldest first)",
)
def room_history(
    user: CurrentUser,
    service: Service,
    roomId: RoomIdPath,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=0, description="only seq < before")] = None,
    after: Annotated[int | None, Query(ge=0, description="only seq > after, oldest first")] = None,
) -> HistoryOut:
    if before is not None and after is not None:
        raise Invalid("give before or after, not both")
    page = service.page(user, roomId, before=before, after=after, limit=limit)
    return HistoryOut(
        roomId=roomId,
        messages=[MessageOut.of(m) for m in page.items],
        hasMore=page.has_more,
        nextCursor=page.cursor,
        caughtUp=page.caught_up,
        updates=[MessageOut.of(m) for m in page.updates],
        upToSeq=page.up_to_seq,
    )


@router.get(
    "/unread/{userId}",
    response_model=UnreadOut,
    summary="The caller's unread messages across their rooms (only your own id)",
)
def unread(
    user: CurrentUser,
    service: Service,
    userId: Annotated[str, Path(pattern=USER_ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> UnreadOut:
    ensure_self(user, userId)
    counts, messages = service.unread(user, limit)
    return UnreadOut(
        userId=user,
        total=sum(counts.values()),
        rooms=counts,
        messages=[MessageOut.of(m) for m in messages],
    )


@router.post(
    "/delivered",
    response_model=MarkedOut,
    summary="Mark delivered: a room up to a seq, or given messages",
)
def delivered(user: CurrentUser, service: Service, body: DeliveredIn) -> MarkedOut:
    if body.roomId is not None and body.upToSeq is not None:
        service.mark_room(user, body.roomId, ReceiptKind.DELIVERED, body.upToSeq)
        rooms = {body.roomId: body.upToSeq}
    else:  # the model guarantees messageIds then
        rooms = service.mark_messages(user, ReceiptKind.DELIVERED, body.messageIds or [])
    return MarkedOut(kind="delivered", rooms=rooms)


@router.put(
    "/{messageId}/status",
    response_model=StatusOut,
    summary="Delivered/read up to this message, for the caller (forward only)",
)
def status(
    user: CurrentUser,
    service: Service,
    body: StatusIn,
    messageId: Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)],
) -> StatusOut:
    message = service.set_status(user, messageId, ReceiptKind(body.status))
    return StatusOut(
        messageId=messageId, roomId=message.room_id, status=body.status, upToSeq=message.seq
    )


@router.get("/stats/{roomId}", response_model=StatsOut, summary="A room's message statistics")
def stats(user: CurrentUser, service: Service, roomId: RoomIdPath) -> StatsOut:
    return StatsOut(**service.stats(user, roomId))
