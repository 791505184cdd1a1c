"""The message archive catch-up reads: a room's stored messages up to its stable seq (the
MessageArchive port)."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from mayachat.adapters.mongo_schema import (
    MESSAGES,
    ROOMS,
    Document,
    document_to_message,
    stable_seq,
)
from mayachat.model import Message
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoMessageArchive:
    def __init__(self, db: Database[Document]) -> None:
        self._rooms = db[ROOMS]
        self._messages = db[MESSAGES]

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[list[Message], int]:
        room = self._rooms.find_one({"_id": room_id}, {"stableSeq": 1, "lastSeq": 1}) or {}
        stable = stable_seq(room)
        if stable <= after_seq:
            return [], stable
        cursor = (
            self._messages.find({"roomId": room_id, "seq": {"$gt": after_seq, "$lte": stable}})
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [document_to_message(doc) for doc in cursor], stable
