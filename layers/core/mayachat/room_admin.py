"""Rooms: create (a direct room between two users is unique), list, read, change members.

Every change of members also drops the room's membership cache in Redis, which the
WebSocket path checks on every frame.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mayachat.errors import Forbidden, Invalid, NotFound
from mayachat.history import unread_ranges
from mayachat.ports import ChatReads, MembershipCache, RoomWrites
from mayachat.views import Cursor, Room, RoomType

MAX_GROUP_MEMBERS = 1000


@dataclass(frozen=True)
class RoomListing:
    room: Room
    unread_count: int
    cursor: Cursor


def direct_room_id(a: str, b: str) -> str:
    """The one id two users' direct room can have, whoever creates it."""
    pair = "\x00".join(sorted((a, b))).encode()
    return "dm-" + hashlib.sha256(pair).hexdigest()[:32]


@dataclass
class RoomAdmin:
    reads: ChatReads
    writes: RoomWrites
    cache: MembershipCache

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
        )
        if self.writes.create(room):
            return room, True
        existing = self.reads.room(room_id)
        if existing is None:  # a concurrent delete; cannot happen today
            raise NotFound(f"room {room_id}")
        return existing, False

    def listing(self, user_id: str) -> list[RoomListing]:
        """The caller's rooms with unread counts: three queries whatever the room count."""
        rooms = self.reads.rooms_of(user_id)
        cursors = self.reads.cursors(user_id, [r.room_id for r in rooms])
        unread = self.reads.unread_counts(user_id, unread_ranges(rooms, cursors))
        rooms.sort(key=lambda r: r.updated_at or r.created_at, reverse=True)
        return [
            RoomListing(r, unread.get(r.room_id, 0), cursors.get(r.room_id, Cursor()))
            for r in rooms
        ]

    def get(self, user_id: str, room_id: str) -> Room:
        room = self.reads.room(room_id)
        if room is None or user_id not in room.members:
            raise NotFound(f"room {room_id}")
        return room

    def add_members(self, user_id: str, room_id: str, user_ids: Sequence[str]) -> Room:
        room = self.get(user_id, room_id)
        if room.type is RoomType.DIRECT:
            raise Invalid("a direct room's members cannot change")
        if len(set(room.members) | set(user_ids)) > MAX_GROUP_MEMBERS:
            raise Invalid(f"a group has at most {MAX_GROUP_MEMBERS} members")
        self.writes.add_members(room_id, list(user_ids))
        self.cache.invalidate(room_id)
        return self.get(user_id, room_id)

    def remove_member(self, user_id: str, room_id: str, member: str) -> None:
        room = self.get(user_id, room_id)
        if room.type is RoomType.DIRECT:
            raise Invalid("a direct room's members cannot change")
        if member != user_id and user_id != room.created_by:
            raise Forbidden("only the room's creator can remove other members")
        if member not in room.members:
            raise NotFound(f"member {member}")
        self.writes.remove_member(room_id, member)
        self.cache.invalidate(room_id)
