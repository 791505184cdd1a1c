"""Catching up over REST: history pages, unread messages, statistics, receipts.

Reads come from MongoDB (the persisted view), never past a room's stable seq, so a cursor
taken from a page never skips a message still on its way (G2). Receipts go through the same
Receipts service
as the WebSocket path (forward-only, logged to Kafka, told to online members), so both paths
behave the same. A room the caller is not in is NotFound: its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mayachat.chat import Receipts, StablePublisher
from mayachat.errors import Forbidden, NotFound
from mayachat.model import Caller, Cursor, Message, Page, ReceiptKind, Room
from mayachat.ports import ChatReads, SeqRange, StatsCache

# Connection id of a REST caller: no socket to leave out of the receipt fan-out.
NO_CONNECTION = ""


@dataclass
class CatchUp:
    reads: ChatReads
    receipts: Receipts
    stable: StablePublisher
    stats_cache: StatsCache
    max_page: int = 100

    def room_of_member(self, user_id: str, room_id: str) -> Room:
        return room_of_member(self.reads, user_id, room_id)

    def page(
        self, user_id: str, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> Page:
        room = self.room_of_member(user_id, room_id)
        behind = self.stable.catch_up(room_id, room.stable_seq)
        limit = min(limit, self.max_page)
        if after is not None:
            # Catch-up from a cursor: new messages, and older ones changed since (G2 holds
            # for changes too: each has a seq under the stable seq).
            part = self.reads.slice(room_id, after, room.stable_seq, limit)
            return Page(
                items=part.messages,
                has_more=part.has_more,
                cursor={"after": part.last_seq} if part.has_more else None,
                caught_up=not behind,
                updates=part.updates,
                up_to_seq=max(part.last_seq, after),
            )
        found = self.reads.history(
            room_id, before=before, after=after, up_to=room.stable_seq, limit=limit + 1
        )
        items, has_more = found[:limit], len(found) > limit
        cursor = None
        if has_more and items:
            cursor = {"after": items[-1].seq} if after is not None else {"before": items[-1].seq}
        return Page(items=items, has_more=has_more, cursor=cursor, caught_up=not behind)

    def unread(self, user_id: str, limit: int) -> tuple[dict[str, int], list[Message]]:
        unread = self._unread_ranges(user_id, self.reads.rooms_of(user_id))
        counts = self.reads.unread_counts(user_id, unread)
        messages = self.reads.unread_messages(user_id, unread, min(limit, self.max_page * 5))
        return counts, messages

    def stats(self, user_id: str, room_id: str) -> dict[str, Any]:
        room = self.room_of_member(user_id, room_id)
        stats = self.stats_cache.get(room_id)
        if stats is None:
            stats = self.reads.stats(room_id)
            self.stats_cache.put(room_id, stats)
        unread = self.reads.unread_counts(user_id, self._unread_ranges(user_id, [room]))
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

    def _unread_ranges(self, user_id: str, rooms: Sequence[Room]) -> dict[str, SeqRange]:
        return unread_ranges(rooms, self.reads.cursors(user_id, [r.room_id for r in rooms]))


def room_of_member(reads: ChatReads, user_id: str, room_id: str) -> Room:
    """The room, if the user is in it; NotFound otherwise (a room one is not in looks absent,
    so room ids do not leak)."""
    room = reads.room(room_id)
    if room is None or user_id not in room.members:
        raise NotFound(f"room {room_id}")
    return room


def unread_ranges(rooms: Sequence[Room], cursors: Mapping[str, Cursor]) -> dict[str, SeqRange]:
    """Per room, the seqs that count as unread: above the read cursor, up to the stable seq."""
    return {
        r.room_id: (cursors.get(r.room_id, Cursor()).read_up_to_seq, r.stable_seq) for r in rooms
    }


def ensure_self(user_id: str, path_user_id: str) -> None:
    if user_id != path_user_id:
        raise Forbidden("you can only read your own unread messages")
