"""Presence's durable part in MongoDB: `presence` documents (`_id` = userId, `hidden`,
`lastSeen`), and the rooms a user shares with others (the rooms' `members` index)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pymongo import UpdateOne
from pymongo.database import Database

from mayachat.adapters.mongo_schema import PRESENCE, ROOMS, Document, utc
from mayachat.ports import PresenceProfile
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoPresenceStore:
    def __init__(self, db: Database[Document]) -> None:
        self._presence = db[PRESENCE]
        self._rooms = db[ROOMS]

    def profiles(self, user_ids: Sequence[str]) -> dict[str, PresenceProfile]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        return {
            doc["_id"]: PresenceProfile(
                hidden=bool(doc.get("hidden", False)),
                last_seen=utc(doc["lastSeen"]) if doc.get("lastSeen") else None,
            )
            for doc in self._presence.find({"_id": {"$in": users}})
        }

    def set_hidden(self, user_id: str, hidden: bool) -> None:
        self._presence.update_one({"_id": user_id}, {"$set": {"hidden": hidden}}, upsert=True)

    def record_last_seen(self, last_seen: Mapping[str, datetime]) -> None:
        if last_seen:
            self._presence.bulk_write(
                [
                    UpdateOne({"_id": user}, {"$max": {"lastSeen": at}}, upsert=True)
                    for user, at in last_seen.items()
                ],
                ordered=False,
            )

    def rooms_with(self, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        found = self._rooms.find({"members": {"$in": users}}, {"members": 1})
        return {doc["_id"]: tuple(doc.get("members", ())) for doc in found}
