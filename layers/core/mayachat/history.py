"""Catching up over REST: history pages, unread messages, statistics, receipts.

Reads come from MongoDB (the persisted view). Receipts go through the same Receipts service
as the WebSocket path (forward-only, logged to Kafka, told to online members), so both paths
behave the same. A room the caller is not in is NotFound: its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mayachat.chat import Receipts
from mayachat.errors import Forbidden, NotFound
from mayachat.model import Caller, Message, ReceiptKind
from mayachat.ports import ChatReads
from mayachat.views import Cursor, Page, Room

# Connection id of a REST caller: no socket to leave out of the receipt fan-out.
NO_CONNECTION = ""


@dataclass
class History:
    reads: ChatReads
    receipts: Receipts
    max_page: int = 100

    def room_of_member(self, user_id: str, room_id: str) -> Room:
        room = self.reads.room(room_id)
        if room is None or user_id not in room.members:
            raise NotFound(f"room {room_id}")
        return room

    def page(
        self, user_id: str, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> Page:
        self.room_of_member(user_id, room_id)
        limit = min(limit, self.max_page)
        found = self.reads.history(room_id, before=before, after=after, limit=limit + 1)
        items, has_more = found[:limit], len(found) > limit
        cursor = None
        if has_more and items:
            cursor = {"after": items[-1].seq} if after is not None else {"before": items[-1].seq}
        return Page(items=items, has_more=has_more, cursor=cursor)

    def unread(self, user_id: str, limit: int) -> tuple[dict[str, int], list[Message]]:
        rooms = self.reads.rooms_of(user_id)
        read = self._read_cursors(user_id, [r.room_id for r in rooms])
        counts = self.reads.unread_counts(user_id, read)
        messages = self.reads.unread_messages(user_id, read, min(limit, self.max_page * 5))
        return counts, messages

    def stats(self, user_id: str, room_id: str) -> dict[str, Any]:
        self.room_of_member(user_id, room_id)
        stats = self.reads.stats(room_id)
        unread = self.reads.unread_counts(user_id, self._read_cursors(user_id, [room_id]))
        return {
            "roomId": room_id,
            "messageCount": stats.message_count,
            "perSender": stats.per_sender,
            "unreadCount": unread.get(room_id, 0),
            "firstMessageAt": stats.first_message_at,
            "lastMessageAt": stats.last_message_at,
        }

    def mark_room(self, user_id: str, room_id: str, kind: ReceiptKind, up_to_seq: int) -> None:
        self.room_of_member(user_id, room_id)
        self.receipts.mark(Caller(user_id, NO_CONNECTION), room_id, kind, up_to_seq)

    def mark_messages(
        self, user_id: str, kind: ReceiptKind, message_ids: Sequence[str]
    ) -> dict[str, int]:
        """Mark up to the newest of the given messages in each of their rooms."""
        newest: dict[str, int] = {}
        for message in self._messages_of_member(user_id, message_ids):
            newest[message.room_id] = max(newest.get(message.room_id, 0), message.seq)
        for room_id, seq in newest.items():
            self.receipts.mark(Caller(user_id, NO_CONNECTION), room_id, kind, seq)
        return newest

    def set_status(self, user_id: str, message_id: str, kind: ReceiptKind) -> Message:
        (message,) = self._messages_of_member(user_id, [message_id])
        self.receipts.mark(Caller(user_id, NO_CONNECTION), message.room_id, kind, message.seq)
        return message

    def _messages_of_member(self, user_id: str, message_ids: Sequence[str]) -> list[Message]:
        found = []
        for message_id in dict.fromkeys(message_ids):
            message = self.reads.message(message_id)
            if message is None:
                raise NotFound(f"message {message_id}")
            self.room_of_member(user_id, message.room_id)
            found.append(message)
        return found

    def _read_cursors(self, user_id: str, room_ids: list[str]) -> dict[str, int]:
        cursors = self.reads.cursors(user_id, room_ids)
        return {r: cursors.get(r, Cursor()).read_up_to_seq for r in room_ids}


def ensure_self(user_id: str, path_user_id: str) -> None:
    if user_id != path_user_id:
        raise Forbidden("you can only read your own unread messages")
