"""MongoDB adapters: rooms and members, durable seq ceilings, and the message archive.

Only operations MongoDB, Atlas and FerretDB v1 all support (no transactions, no $lookup).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from mayachat.model import Message

Document = dict[str, Any]

ROOMS = "rooms"
MESSAGES = "messages"
COUNTERS = "room_counters"


def message_to_document(message: Message) -> Document:
    return {
        "_id": message.message_id,
        "roomId": message.room_id,
        "seq": message.seq,
        "senderId": message.sender_id,
        "clientMsgId": message.client_msg_id,
        "content": message.content,
        "createdAt": datetime.fromisoformat(message.created_at.replace("Z", "+00:00")),
    }


def document_to_message(doc: Document) -> Message:
    created: datetime = doc["createdAt"]
    if created.tzinfo is None:  # BSON datetimes come back naive, in UTC
        created = created.replace(tzinfo=UTC)
    return Message(
        message_id=doc["_id"],
        room_id=doc["roomId"],
        seq=int(doc["seq"]),
        sender_id=doc["senderId"],
        client_msg_id=doc["clientMsgId"],
        content=doc["content"],
        created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )


class MongoRooms:
    """Rooms and their members (RoomDirectory), read on a membership-cache miss."""

    def __init__(self, db: Database[Document]) -> None:
        self._rooms = db[ROOMS]

    def members(self, room_id: str) -> frozenset[str] | None:
        doc = self._rooms.find_one({"_id": room_id}, {"members": 1})
        return frozenset(doc["members"]) if doc else None

    def create(self, room_id: str, kind: str, members: list[str], created_by: str) -> None:
        self._rooms.insert_one(
            {
                "_id": room_id,
                "type": kind,
                "members": sorted(set(members)),
                "createdBy": created_by,
                "createdAt": datetime.now(UTC),
            }
        )


class MongoSeqReservations:
    def __init__(self, db: Database[Document]) -> None:
        self._counters = db[COUNTERS]

    def reserve(self, room_id: str, count: int) -> int:
        doc = self._counters.find_one_and_update(
            {"_id": room_id},
            {"$inc": {"ceiling": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # cannot happen with upsert + AFTER; keeps the type honest
            raise RuntimeError(f"no seq counter for room {room_id}")
        return int(doc["ceiling"])


class MongoMessageArchive:
    def __init__(self, db: Database[Document]) -> None:
        self._messages = db[MESSAGES]

    def after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        cursor = (
            self._messages.find({"roomId": room_id, "seq": {"$gt": after_seq}})
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [document_to_message(doc) for doc in cursor]
