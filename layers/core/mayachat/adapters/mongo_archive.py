"""The message archive catch-up reads: a room's stored messages and changes up to its stable
seq (the MessageArchive port)."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from mayachat.adapters.mongo_schema import (
    CHANGES,
    MESSAGES,
    ROOMS,
    Document,
    document_to_message,
    stable_seq,
)
from mayachat.ports import Slice
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoMessageArchive:
    def __init__(self, db: Database[Document]) -> None:
        self._db = db
        self._rooms = db[ROOMS]

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[Slice, int]:
        room = self._rooms.find_one({"_id": room_id}, {"stableSeq": 1, "lastSeq": 1}) or {}
        stable = stable_seq(room)
        if stable <= after_seq:
            return Slice([], [], after_seq, has_more=False), stable
        return read_slice(self._db, room_id, after_seq, stable, limit), stable


def read_slice(db: Database[Document], room_id: str, after: int, up_to: int, limit: int) -> Slice:
    """Messages and change records of (after, up_to] in seq order, the first `limit` of them
    together: three indexed reads (messages, changes, the changed messages)."""
    in_range = {"roomId": room_id, "seq": {"$gt": after, "$lte": up_to}}
    found = list(db[MESSAGES].find(in_range).sort("seq", ASCENDING).limit(limit + 1))
    changed = list(
        db[CHANGES]
        .find(in_range, {"seq": 1, "messageId": 1})
        .sort("seq", ASCENDING)
        .limit(limit + 1)
    )
    seqs = sorted([int(d["seq"]) for d in found] + [int(d["seq"]) for d in changed])
    has_more = len(seqs) > limit
    last = seqs[limit - 1] if has_more else up_to
    messages = [document_to_message(d) for d in found if int(d["seq"]) <= last]
    fresh = {m.message_id for m in messages}
    older = list(dict.fromkeys(d["messageId"] for d in changed if int(d["seq"]) <= last))
    older = [i for i in older if i not in fresh]
    updates = []
    if older:
        docs = {d["_id"]: d for d in db[MESSAGES].find({"_id": {"$in": older}})}
        updates = [document_to_message(docs[i]) for i in older if i in docs]
    return Slice(messages, updates, last, has_more)
