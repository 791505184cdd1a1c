"""Rooms and their members in MongoDB (the RoomDirectory and RoomWrites ports)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from mayachat.adapters.mongo_schema import ROOMS, Document, document_to_room, room_to_document
from mayachat.model import Room
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoRooms:
    """Rooms and their members: the RoomDirectory the WebSocket path asks on a cache miss,
    and the RoomWrites of the REST API."""

    def __init__(self, db: Database[Document]) -> None:
        self._rooms = db[ROOMS]

    def members(self, room_id: str) -> tuple[frozenset[str], int] | None:
        doc = self._rooms.find_one({"_id": room_id}, {"members": 1, "membersVersion": 1})
        return (frozenset(doc["members"]), int(doc.get("membersVersion", 0))) if doc else None

    def create(self, room: Room) -> bool:
        try:
            self._rooms.insert_one(room_to_document(room))
        except DuplicateKeyError:
            return False
        return True

    def add_members(self, room_id: str, user_ids: Sequence[str], version: int) -> Room | None:
        return self._change(
            room_id,
            {
                "$addToSet": {"members": {"$each": list(user_ids)}},
                "$set": {"membersVersion": version},
            },
        )

    def remove_member(
        self, room_id: str, user_id: str, roles: Mapping[str, str], version: int
    ) -> Room | None:
        return self._change(
            room_id,
            {
                "$pull": {"members": user_id},
                "$set": {"roles": dict(roles), "membersVersion": version},
            },
        )

    def set_roles(self, room_id: str, roles: Mapping[str, str], version: int) -> Room | None:
        return self._change(room_id, {"$set": {"roles": dict(roles), "membersVersion": version}})

    def _change(self, room_id: str, update: Document) -> Room | None:
        doc = self._rooms.find_one_and_update(
            {"_id": room_id}, update, return_document=ReturnDocument.AFTER
        )
        return document_to_room(doc) if doc else None
