"""Rooms: create (a direct room between two users is unique), list, read, change members.

Group rooms have roles (mayachat.roles). A change of members takes effect at once for the
WebSocket path, which checks the Redis membership cache on every frame: the cache is fenced
at the change's version before MongoDB is written (a reader that read the old list cannot
put it back), then given the new list. The room's online members get `member.added`,
`member.removed` and `member.role` frames (a removed member gets its own removal too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from mayachat.catch_up import room_of_member, unread_ranges
from mayachat.delivery import Delivery
from mayachat.errors import Forbidden, Invalid, NotFound
from mayachat.frames import MemberChange, MemberRemoved, MemberRole, MembersAdded
from mayachat.model import Cursor, Room, RoomType
from mayachat.ports import ChatReads, MembershipCache, RoomWrites
from mayachat.roles import (
    Role,
    may_add,
    may_remove,
    may_set_role,
    roles_with,
    roles_without,
)

logger = Logger(child=True)

MAX_GROUP_MEMBERS = 1000
# Nobody can be put in more rooms than this (their room list and unread counts stay bounded).
MAX_ROOMS_PER_USER = 1000


# GET /api/rooms pages: a phone in hundreds of rooms fetches them a page at a time.
DEFAULT_ROOM_PAGE = 100
MAX_ROOM_PAGE = 200


@dataclass(frozen=True)
class RoomListing:
    room: Room
    unread_count: int
    cursor: Cursor


@dataclass(frozen=True)
class RoomPage:
    listings: list[RoomListing]
    next_cursor: str | None  # None: this was the last page


Activity = tuple[datetime, str]  # (last activity, room id): the list's order, newest first


def page_cursor(key: Activity) -> str:
    """Opaque to clients: where the next page starts (below this key)."""
    raw = json.dumps([key[0].isoformat(), key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> Activity:
    try:
        at, room_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(at)
        if when.tzinfo is not None and isinstance(room_id, str):
            return when, room_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise Invalid("cursor: not one this API gave (pass nextCursor as it came)")


def direct_room_id(a: str, b: str) -> str:
    """The one id two users' direct room can have, whoever creates it."""
    pair = "\x00".join(sorted((a, b))).encode()
    return "dm-" + hashlib.sha256(pair).hexdigest()[:32]


@dataclass
class RoomAdmin:
    reads: ChatReads
    writes: RoomWrites
    cache: MembershipCache
    delivery: Delivery | None  # None: nobody is told (no WebSocket API here)

    def create(
        self, creator: str, kind: RoomType, members: Sequence[str], name: str | None = None
    ) -> tuple[Room, bool]:
        everyone = sorted({creator, *members})
        if kind is RoomType.DIRECT:
            if len(everyone) != 2:
                raise Invalid("a direct room has exactly two members: you and one other")
            room_id = direct_room_id(*everyone)
        else:
            if len(everyone) > MAX_GROUP_MEMBERS:
                raise Invalid(f"a group has at most {MAX_GROUP_MEMBERS} members")
            room_id = f"grp-{uuid.uuid4().hex}"
        room = Room(
            room_id=room_id,
            type=kind,
            members=tuple(everyone),
            created_by=creator,
            created_at=datetime.now(UTC),
            name=name,
            roles={creator: Role.OWNER} if kind is RoomType.GROUP else {},
        )
        if kind is RoomType.GROUP or self.reads.room(room_id) is None:
            self._check_room_caps(everyone)  # (an existing direct room adds nobody to anything)
        if self.writes.create(room):
            return room, True
        existing = self.reads.room(room_id)
        if existing is None:  # a concurrent delete; cannot happen today
            raise NotFound(f"room {room_id}")
        return existing, False

    def listing(
        self, user_id: str, limit: int = DEFAULT_ROOM_PAGE, cursor: str | None = None
    ) -> RoomPage:
        """A page of the caller's rooms, newest activity first, with unread counts. The page
        is chosen from every room's (id, activity) -- at most MAX_ROOMS_PER_USER small
        documents -- then only its rooms are read, with three queries."""
        order = sorted(((at, rid) for rid, at in self.reads.room_activity(user_id)), reverse=True)
        if cursor is not None:
            after = _after(cursor)
            order = [key for key in order if key < after]
        page = order[:limit]
        found = {r.room_id: r for r in self.reads.rooms([rid for _, rid in page])}
        # (A room can change between the two reads: one the caller just left is not shown.)
        rooms = [found[rid] for _, rid in page if rid in found and user_id in found[rid].members]
        cursors = self.reads.cursors(user_id, [r.room_id for r in rooms])
        unread = self.reads.unread_counts(user_id, unread_ranges(rooms, cursors))
        listings = [
            RoomListing(r, unread.get(r.room_id, 0), cursors.get(r.room_id, Cursor()))
            for r in rooms
        ]
        return RoomPage(listings, page_cursor(page[-1]) if len(order) > limit else None)

    def get(self, user_id: str, room_id: str) -> Room:
        return room_of_member(self.reads, user_id, room_id)

    def add_members(self, user_id: str, room_id: str, user_ids: Sequence[str]) -> Room:
        room = self._group_of_member(user_id, room_id)
        if not may_add(room, user_id):
            raise Forbidden("only the room's owner and admins add members", "not_allowed")
        new = [u for u in dict.fromkeys(user_ids) if u not in room.members]
        if len(room.members) + len(new) > MAX_GROUP_MEMBERS:
            raise Invalid(f"a group has at most {MAX_GROUP_MEMBERS} members")
        if not new:
            return room
        self._check_room_caps(new)
        changed = self._change(room_id, lambda v: self.writes.add_members(room_id, new, v))
        added: MembersAdded = {
            "type": "member.added",
            "roomId": room_id,
            "userIds": new,
            "by": user_id,
        }
        self._tell(changed, added)
        return changed

    def remove_member(self, user_id: str, room_id: str, member: str) -> None:
        room = self._group_of_member(user_id, room_id)
        if member not in room.members:
            raise NotFound(f"member {member}")
        if not may_remove(room, user_id, member):
            raise Forbidden(
                "only the owner removes admins; owners and admins remove members", "not_allowed"
            )
        roles = roles_without(room, member)
        changed = self._change(
            room_id, lambda v: self.writes.remove_member(room_id, member, roles, v)
        )
        removed: MemberRemoved = {
            "type": "member.removed",
            "roomId": room_id,
            "userId": member,
            "by": user_id,
        }
        self._tell(changed, removed, also=[member])

    def set_role(self, user_id: str, room_id: str, member: str, role: Role) -> Room:
        room = self._group_of_member(user_id, room_id)
        if member not in room.members:
            raise NotFound(f"member {member}")
        if not may_set_role(room, user_id, member, role):
            raise Forbidden(
                "the owner names and demotes admins; an admin may promote a member",
                "not_allowed",
            )
        roles = roles_with(room, member, role)
        changed = self._change(room_id, lambda v: self.writes.set_roles(room_id, roles, v))
        promoted: MemberRole = {
            "type": "member.role",
            "roomId": room_id,
            "userId": member,
            "role": role.value,
        }
        self._tell(changed, promoted)
        return changed

    def _check_room_caps(self, user_ids: Sequence[str]) -> None:
        full = [
            u
            for u in user_ids
            if self.reads.room_count(u, MAX_ROOMS_PER_USER) >= MAX_ROOMS_PER_USER
        ]
        if full:
            raise Invalid(
                f"already in {MAX_ROOMS_PER_USER} rooms, the most one user can be in: "
                + ", ".join(full[:5])
            )

    def _group_of_member(self, user_id: str, room_id: str) -> Room:
        room = self.get(user_id, room_id)
        if room.type is RoomType.DIRECT:
            raise Invalid("a direct room's members cannot change")
        return room

    def _change(self, room_id: str, write: Callable[[int], Room | None]) -> Room:
        """Fence the cache at a new version, write, then cache the new list: no moment at
        which a removed member is let in again. A failure anywhere leaves the cache empty or
        fenced, never stale; the change is safe to retry."""
        version = time.time_ns()
        self.cache.fence(room_id, version)
        changed = write(version)
        if changed is None:
            raise NotFound(f"room {room_id}")
        self.cache.put(room_id, frozenset(changed.members), version)
        return changed

    def _tell(self, room: Room, event: MemberChange, also: Sequence[str] = ()) -> None:
        """Best effort: the change is written; a phone that missed the frame sees it in
        GET /api/rooms/{roomId}."""
        if self.delivery is None:
            return
        try:
            self.delivery.to_members(
                [*room.members, *also],
                event,
                what=event["type"],
                room_id=room.room_id,
            )
        except Exception:
            logger.warning(
                "could not tell the members", extra={"roomId": room.room_id}, exc_info=True
            )
