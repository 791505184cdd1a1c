"""The REST API's reads from MongoDB. Every query is served by an index: messages by
(roomId, seq), rooms by members, cursors by (userId, roomId). Per-room questions across all
of a user's rooms are one query with an $or of (room, seq) ranges, never a query per room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from mayachat.adapters.mongo_archive import read_slice
from mayachat.adapters.mongo_schema import (
    CURSORS,
    MESSAGES,
    ROOMS,
    Document,
    document_to_message,
    document_to_room,
    utc,
)
from mayachat.model import Cursor, Message, Room, RoomStats
from mayachat.ports import SeqRange, Slice
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoChatReads:
    def __init__(self, db: Database[Document]) -> None:
        self._db = db
        self._rooms = db[ROOMS]
        self._messages = db[MESSAGES]
        self._cursors = db[CURSORS]

    def room(self, room_id: str) -> Room | None:
        doc = self._rooms.find_one({"_id": room_id})
        return document_to_room(doc) if doc else None

    def rooms_of(self, user_id: str) -> list[Room]:
        return [document_to_room(d) for d in self._rooms.find({"members": user_id})]

    def room_activity(self, user_id: str) -> list[tuple[str, datetime]]:
        found = self._rooms.find({"members": user_id}, {"updatedAt": 1, "createdAt": 1})
        return [(d["_id"], utc(d.get("updatedAt") or d["createdAt"])) for d in found]

    def rooms(self, room_ids: Sequence[str]) -> list[Room]:
        if not room_ids:
            return []
        return [document_to_room(d) for d in self._rooms.find({"_id": {"$in": list(room_ids)}})]

    def room_count(self, user_id: str, at_most: int) -> int:
        return self._rooms.count_documents({"members": user_id}, limit=at_most)

    def message(self, message_id: str) -> Message | None:
        doc = self._messages.find_one({"_id": message_id})
        return document_to_message(doc) if doc else None

    def history(
        self, room_id: str, *, before: int | None, after: int | None, up_to: int, limit: int
    ) -> list[Message]:
        query: Document = {"roomId": room_id}
        if after is not None:
            query["seq"] = {"$gt": after, "$lte": up_to}
            order = ASCENDING
        else:
            query["seq"] = {"$lt": before, "$lte": up_to} if before is not None else {"$lte": up_to}
            order = DESCENDING
        cursor = self._messages.find(query).sort("seq", order).limit(limit)
        return [document_to_message(d) for d in cursor]

    def slice(self, room_id: str, after: int, up_to: int, limit: int) -> Slice:
        return read_slice(self._db, room_id, after, up_to, limit)

    def cursors(self, user_id: str, room_ids: Sequence[str]) -> dict[str, Cursor]:
        if not room_ids:
            return {}
        found = self._cursors.find({"userId": user_id, "roomId": {"$in": list(room_ids)}})
        return {
            d["roomId"]: Cursor(int(d.get("deliveredUpToSeq", 0)), int(d.get("readUpToSeq", 0)))
            for d in found
        }

    def unread_counts(self, user_id: str, unread: Mapping[str, SeqRange]) -> dict[str, int]:
        if not _open(unread):
            return {}
        pipeline: list[Document] = [
            {"$match": _unread_filter(user_id, unread)},
            {"$group": {"_id": "$roomId", "count": {"$sum": 1}}},
        ]
        return {d["_id"]: int(d["count"]) for d in self._messages.aggregate(pipeline)}

    def unread_messages(
        self, user_id: str, unread: Mapping[str, SeqRange], limit: int
    ) -> list[Message]:
        if not _open(unread):
            return []
        cursor = (
            self._messages.find(_unread_filter(user_id, unread))
            .sort([("roomId", ASCENDING), ("seq", ASCENDING)])
            .limit(limit)
        )
        return [document_to_message(d) for d in cursor]

    def stats(self, room_id: str) -> RoomStats:
        """Counts per sender in one $group; first and last by the (roomId, seq) index
        ($min/$max accumulators are not in FerretDB v1)."""
        pipeline: list[Document] = [
            {"$match": {"roomId": room_id, "deleted": {"$ne": True}}},
            {"$group": {"_id": "$senderId", "count": {"$sum": 1}}},
        ]
        groups = list(self._messages.aggregate(pipeline))
        return RoomStats(
            message_count=sum(int(g["count"]) for g in groups),
            per_sender={g["_id"]: int(g["count"]) for g in groups},
            first_message_at=self._edge_time(room_id, ASCENDING),
            last_message_at=self._edge_time(room_id, DESCENDING),
        )

    def _edge_time(self, room_id: str, order: int) -> datetime | None:
        doc = self._messages.find_one({"roomId": room_id}, {"createdAt": 1}, sort=[("seq", order)])
        return utc(doc["createdAt"]) if doc else None


def _open(ranges: Mapping[str, SeqRange]) -> dict[str, SeqRange]:
    """The ranges that can hold a seq."""
    return {room: (after, up_to) for room, (after, up_to) in ranges.items() if up_to > after}


def _unread_filter(user_id: str, unread: Mapping[str, SeqRange]) -> Document:
    return {
        "$or": [
            {"roomId": room, "seq": {"$gt": after, "$lte": up_to}}
            for room, (after, up_to) in _open(unread).items()
        ],
        "senderId": {"$ne": user_id},
        "deleted": {"$ne": True},  # nothing left to read
    }
