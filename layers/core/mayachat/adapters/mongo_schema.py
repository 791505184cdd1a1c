"""What MongoDB holds, for every MongoDB adapter: the collections, their indexes, and
documents to and from the domain's records.

Only operations MongoDB, Atlas and FerretDB v1 all support (no transactions, no $lookup).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

from mayachat.model import Message, Room, RoomType

Document = dict[str, Any]


ROOMS = "rooms"


MESSAGES = "messages"


SEQ_BLOCKS = "room_seq_blocks"


CURSORS = "room_cursors"


CHANGES = "message_changes"  # one per edit, deletion or reaction: (roomId, seq) -> messageId


PUSH_DEVICES = "push_devices"  # one per push token: mayachat.adapters.mongo_push


PUSH_PREFERENCES = "push_preferences"  # one per user


PUSH_SENT = "push_sent"  # one per (message, device) push: a redelivery sends none twice


PRESENCE = "presence"  # one per user who hid it or was seen: mayachat.adapters.mongo_presence


# (collection, keys, options): every index the system relies on.
INDEXES: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
    (
        MESSAGES,
        [("roomId", ASCENDING), ("seq", ASCENDING)],
        {"unique": True, "name": "room_seq_unique"},
    ),
    (ROOMS, [("members", ASCENDING)], {"name": "members"}),
    (
        CHANGES,
        [("roomId", ASCENDING), ("seq", ASCENDING)],
        {"unique": True, "name": "room_seq_unique"},
    ),
    (SEQ_BLOCKS, [("roomId", ASCENDING), ("block", DESCENDING)], {"name": "room_block"}),
    (CURSORS, [("userId", ASCENDING), ("roomId", ASCENDING)], {"name": "user_room"}),
    (PUSH_DEVICES, [("userId", ASCENDING), ("deviceId", ASCENDING)], {"name": "user_device"}),
    # MongoDB drops a push's record after a week (a redelivery comes within hours at most);
    # FerretDB v1 has no TTL indexes: there the index is made without, and records stay.
    (PUSH_SENT, [("sentAt", ASCENDING)], {"name": "sent_ttl", "expireAfterSeconds": 7 * 86400}),
]


NOT_IMPLEMENTED = 238  # FerretDB's answer to an index option it lacks


# Indexes of earlier versions that must go. `sender_client_msg_unique` made a clientMsgId
# reused after the idempotency window (or in another room) a silent drop of an acked message:
# a message is now unique by its id alone (G5).
RETIRED_INDEXES: list[tuple[str, str]] = [(MESSAGES, "sender_client_msg_unique")]


def ensure_indexes(db: Database[Document]) -> None:
    """Create the indexes and drop retired ones; a no-op when done. One at a time: FerretDB
    v1 drops the connection when a multi-index createIndexes names indexes that exist."""
    for collection, keys, options in INDEXES:
        try:
            db[collection].create_index(keys, **options)
        except OperationFailure as exc:
            if exc.code != NOT_IMPLEMENTED or "expireAfterSeconds" not in options:
                raise
            kept = {k: v for k, v in options.items() if k != "expireAfterSeconds"}
            db[collection].create_index(keys, **kept)
    for collection, name in RETIRED_INDEXES:
        if name in db[collection].index_information():
            db[collection].drop_index(name)


def created_at(message: Message) -> datetime:
    """The message's ISO createdAt as the BSON date MongoDB stores and sorts."""
    return datetime.fromisoformat(message.created_at.replace("Z", "+00:00"))


def message_to_document(message: Message) -> Document:
    return {
        "_id": message.message_id,
        "roomId": message.room_id,
        "seq": message.seq,
        "senderId": message.sender_id,
        "clientMsgId": message.client_msg_id,
        "content": message.content,
        "createdAt": created_at(message),
    }


def document_to_message(doc: Document) -> Message:
    return Message(
        message_id=doc["_id"],
        room_id=doc["roomId"],
        seq=int(doc["seq"]),
        sender_id=doc["senderId"],
        client_msg_id=doc["clientMsgId"],
        content=doc["content"],
        created_at=iso(doc["createdAt"]),
        version=int(doc.get("version", 0)),
        edited_at=iso(doc["editedAt"]) if doc.get("editedAt") else None,
        deleted_at=iso(doc["deletedAt"]) if doc.get("deleted") else None,
        deleted_by=doc.get("deletedBy"),
        reactions=reactions_of(doc),
    )


def iso(value: datetime) -> str:
    """A BSON date as the protocol writes times."""
    return utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reaction_key(user_id: str, emoji: str) -> str:
    """The field of one user's one emoji under a message's `reactions`: user ids may hold
    dots, which field paths cannot."""
    return hashlib.sha1(f"{user_id}|{emoji}".encode(), usedforsecurity=False).hexdigest()[:20]


def reactions_of(doc: Document) -> dict[str, list[str]]:
    """`reactions` ({key: {u, e, v, on}}) as emoji -> who, in the order they reacted."""
    on = sorted(
        (int(r["v"]), r["e"], r["u"]) for r in (doc.get("reactions") or {}).values() if r["on"]
    )
    reactions: dict[str, list[str]] = {}
    for _, emoji, user in on:
        reactions.setdefault(emoji, []).append(user)
    return reactions


def room_to_document(room: Room) -> Document:
    doc: Document = {
        "_id": room.room_id,
        "type": room.type.value,
        "members": list(room.members),
        "createdBy": room.created_by,
        "createdAt": room.created_at,
        # From the start: stable_seq() falls back to lastSeq only for rooms made before it
        # existed, and that would serve a message stored before its record is done (its
        # upload kept, say).
        "stableSeq": room.stable_seq,
    }
    if room.name:
        doc["name"] = room.name
    if room.roles:
        doc["roles"] = dict(room.roles)
    return doc


def document_to_room(doc: Document) -> Room:
    return Room(
        room_id=doc["_id"],
        type=RoomType(doc.get("type", "group")),
        members=tuple(doc.get("members", [])),
        created_by=doc.get("createdBy", ""),
        created_at=utc(doc["createdAt"]),
        name=doc.get("name"),
        last_seq=int(doc.get("lastSeq", 0)),
        # Rooms persisted before the stable seq existed: their last seq, as before.
        stable_seq=stable_seq(doc),
        last_message=doc.get("lastMessage"),
        updated_at=utc(doc["updatedAt"]) if doc.get("updatedAt") else None,
        roles=_roles(doc),
        members_version=int(doc.get("membersVersion", 0)),
    )


def _roles(doc: Document) -> dict[str, str]:
    """Rooms made before roles existed: their creator owns them."""
    if "roles" in doc:
        return dict(doc["roles"])
    creator = str(doc.get("createdBy", ""))
    if doc.get("type", "group") == "group" and creator in doc.get("members", []):
        return {creator: "owner"}
    return {}


def stable_seq(room: Document) -> int:
    """A room's durable stable seq; for rooms persisted before it existed, their last seq."""
    return int(room.get("stableSeq", room.get("lastSeq")) or 0)


def utc(value: datetime) -> datetime:
    """BSON datetimes come back naive, in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
