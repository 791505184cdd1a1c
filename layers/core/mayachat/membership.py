"""Who is in a room, as every WebSocket action checks it: the Redis cache first, MongoDB's
rooms on a miss (the cache is versioned and fenced: mayachat.room_admin)."""

from __future__ import annotations

from dataclasses import dataclass

from mayachat.errors import ChatError, ErrorCode
from mayachat.model import Caller
from mayachat.ports import MembershipCache, RoomDirectory


@dataclass
class Rooms:
    """Membership: the Redis cache first, MongoDB's rooms on a miss."""

    cache: MembershipCache
    directory: RoomDirectory

    def members(self, room_id: str) -> frozenset[str]:
        members = self.cache.get(room_id)
        if members is None:
            found = self.directory.members(room_id)
            if found is None:
                return frozenset()
            members, version = found
            if members:
                self.cache.put(room_id, members, version)
        return members

    def require_member(
        self,
        caller: Caller,
        room_id: str,
        client_msg_id: str | None = None,
        message_id: str | None = None,
    ) -> frozenset[str]:
        members = self.members(room_id)
        if caller.user_id not in members:
            raise self.refusal(room_id, client_msg_id=client_msg_id, message_id=message_id)
        return members

    @staticmethod
    def refusal(
        room_id: str, *, client_msg_id: str | None = None, message_id: str | None = None
    ) -> ChatError:
        # The same answer for "no such room": ids of other people's rooms do not leak.
        return ChatError(
            ErrorCode.NOT_A_MEMBER,
            f"not a member of room {room_id}",
            client_msg_id=client_msg_id,
            message_id=message_id,
        )
