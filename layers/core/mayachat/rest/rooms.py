"""/api/rooms: create, list (with unread counts), read, change members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from mayachat import bootstrap
from mayachat.fields import ROOM_ID_PATTERN, USER_ID_PATTERN
from mayachat.model import RoomType
from mayachat.rest.schemas import (
    MembersIn,
    RoleIn,
    RoomCreateIn,
    RoomListingOut,
    RoomOut,
    RoomsOut,
)
from mayachat.rest.security import CurrentUser
from mayachat.roles import Role
from mayachat.room_admin import DEFAULT_ROOM_PAGE, MAX_ROOM_PAGE, RoomAdmin

router = APIRouter(prefix="/api/rooms", tags=["rooms"])

Service = Annotated[RoomAdmin, Depends(bootstrap.room_admin)]
RoomIdPath = Annotated[str, Path(pattern=ROOM_ID_PATTERN)]


@router.post(
    "",
    response_model=RoomOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a room; a direct room between two users is unique (200 if it exists)",
)
def create(user: CurrentUser, service: Service, body: RoomCreateIn, response: Response) -> RoomOut:
    room, created = service.create(user, RoomType(body.type), body.members, body.name)
    if not created:
        response.status_code = status.HTTP_200_OK
    return RoomOut.of(room)


@router.get(
    "",
    response_model=RoomsOut,
    summary="The caller's rooms, newest activity first, a page at a time",
)
def listing(
    user: CurrentUser,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=MAX_ROOM_PAGE)] = DEFAULT_ROOM_PAGE,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RoomsOut:
    page = service.listing(user, limit, cursor)
    return RoomsOut(
        rooms=[RoomListingOut.listing(item) for item in page.listings],
        nextCursor=page.next_cursor,
    )


@router.get("/{roomId}", response_model=RoomOut, summary="One of the caller's rooms")
def get(user: CurrentUser, service: Service, roomId: RoomIdPath) -> RoomOut:
    return RoomOut.of(service.get(user, roomId))


@router.post(
    "/{roomId}/members",
    response_model=RoomOut,
    summary="Add members to a group (its owner and admins)",
)
def add_members(
    user: CurrentUser, service: Service, roomId: RoomIdPath, body: MembersIn
) -> RoomOut:
    return RoomOut.of(service.add_members(user, roomId, body.userIds))


@router.delete(
    "/{roomId}/members/{userId}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave a group; or remove a member (the owner anyone, an admin plain members)",
)
def remove_member(
    user: CurrentUser,
    service: Service,
    roomId: RoomIdPath,
    userId: Annotated[str, Path(pattern=USER_ID_PATTERN)],
) -> None:
    service.remove_member(user, roomId, userId)


@router.put(
    "/{roomId}/members/{userId}",
    response_model=RoomOut,
    summary="Make a member an admin or a plain member (the owner; an admin may promote)",
)
def set_role(
    user: CurrentUser,
    service: Service,
    roomId: RoomIdPath,
    userId: Annotated[str, Path(pattern=USER_ID_PATTERN)],
    body: RoleIn,
) -> RoomOut:
    return RoomOut.of(service.set_role(user, roomId, userId, Role(body.role)))
