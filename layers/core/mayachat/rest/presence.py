"""Presence over HTTPS: the room's members' (as the `presence` action answers), and hiding
one's own. Members only: a stranger's room is a 404, like every room-scoped endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mayachat import bootstrap
from mayachat.fields import ROOM_ID_PATTERN, USER_ID_PATTERN
from mayachat.presence import MAX_ASKED, Presence
from mayachat.rest.schemas import (
    PresenceOut,
    PresenceSettingsIn,
    PresenceSettingsOut,
    UserPresenceOut,
)
from mayachat.rest.security import CurrentUser

router = APIRouter(tags=["presence"])

Service = Annotated[Presence, Depends(bootstrap.presence)]
RoomIdPath = Annotated[str, Path(pattern=ROOM_ID_PATTERN)]
UserIds = Annotated[
    list[Annotated[str, Query(pattern=USER_ID_PATTERN)]] | None,
    Query(alias="userId", max_length=MAX_ASKED, description="whom to ask about (repeat it)"),
]


@router.get(
    "/api/rooms/{roomId}/presence",
    response_model=PresenceOut,
    response_model_exclude_none=True,
    summary="Who of the room's other members is online, and when the others were last seen",
)
def room_presence(
    user: CurrentUser, service: Service, roomId: RoomIdPath, userIds: UserIds = None
) -> PresenceOut:
    users = service.ask(user, roomId, userIds)
    return PresenceOut(
        roomId=roomId,
        users=[
            UserPresenceOut(userId=u.user_id, online=u.online, lastSeen=u.last_seen) for u in users
        ],
    )


@router.get(
    "/api/presence/settings",
    response_model=PresenceSettingsOut,
    summary="Whether the caller hides their presence",
)
def settings(user: CurrentUser, service: Service) -> PresenceSettingsOut:
    return PresenceSettingsOut(hidden=service.hidden(user))


@router.put(
    "/api/presence/settings",
    response_model=PresenceSettingsOut,
    summary="Hide one's presence (appear offline without lastSeen, and see others so), or show it",
)
def set_settings(
    user: CurrentUser, service: Service, body: PresenceSettingsIn
) -> PresenceSettingsOut:
    service.set_hidden(user, body.hidden)
    return PresenceSettingsOut(hidden=body.hidden)
