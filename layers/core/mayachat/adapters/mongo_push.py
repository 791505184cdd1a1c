"""Push notifications in MongoDB: devices (DeviceRegistry), preferences (PushPreferenceStore)
and the pushes sent (PushLedger).

A device document is keyed by its token (`platform:token`), so a token registered again, by
whichever user or device, moves instead of being copied; a device's earlier token goes when
it registers a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from mayachat.adapters.mongo_schema import (
    PUSH_DEVICES,
    PUSH_PREFERENCES,
    PUSH_SENT,
    Document,
    utc,
)
from mayachat.push import Device, Platform, PushPreferences
from mayachat.tracing import traced_calls


def _key(device: Device) -> str:
    return f"{device.platform.value}:{device.token}"


def _device(doc: Document) -> Device:
    return Device(
        user_id=doc["userId"],
        device_id=doc["deviceId"],
        platform=Platform(doc["platform"]),
        token=doc["token"],
        endpoint=doc.get("endpoint"),
    )


@traced_calls("mongodb")
class MongoDevices:
    def __init__(self, db: Database[Document]) -> None:
        self._devices = db[PUSH_DEVICES]

    def register(self, device: Device) -> Device:
        key = _key(device)
        self._devices.delete_many(
            {"userId": device.user_id, "deviceId": device.device_id, "_id": {"$ne": key}}
        )
        doc = self._devices.find_one_and_update(
            {"_id": key},
            {
                "$set": {
                    "userId": device.user_id,
                    "deviceId": device.device_id,
                    "platform": device.platform.value,
                    "token": device.token,
                    "updatedAt": datetime.now(UTC),
                }
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upserted
        return _device(doc)

    def of_users(self, user_ids: Sequence[str]) -> dict[str, list[Device]]:
        found: dict[str, list[Device]] = {}
        for doc in self._devices.find({"userId": {"$in": list(user_ids)}}).sort("deviceId"):
            found.setdefault(doc["userId"], []).append(_device(doc))
        return found

    def remove(self, user_id: str, device_id: str) -> bool:
        return (
            self._devices.delete_many({"userId": user_id, "deviceId": device_id}).deleted_count > 0
        )

    def set_endpoint(self, device: Device, endpoint: str) -> None:
        self._devices.update_one({"_id": _key(device)}, {"$set": {"endpoint": endpoint}})

    def forget(self, device: Device) -> None:
        # Only while it is still this user's: a token that moved to someone else since stays.
        self._devices.delete_one({"_id": _key(device), "userId": device.user_id})


@traced_calls("mongodb")
class MongoPushPreferences:
    def __init__(self, db: Database[Document]) -> None:
        self._preferences = db[PUSH_PREFERENCES]

    def of_users(self, user_ids: Sequence[str]) -> dict[str, PushPreferences]:
        return {
            doc["_id"]: PushPreferences(
                show_preview=bool(doc.get("showPreview", True)),
                muted={
                    room: utc(until) if until is not None else None
                    for room, until in doc.get("muted", {}).items()
                },
            )
            for doc in self._preferences.find({"_id": {"$in": list(user_ids)}})
        }

    def set_preview(self, user_id: str, show: bool) -> None:
        self._preferences.update_one({"_id": user_id}, {"$set": {"showPreview": show}}, upsert=True)

    def mute(self, user_id: str, room_id: str, until: datetime | None) -> None:
        # Room ids are [A-Za-z0-9_-] (mayachat.fields): safe as a field name.
        self._preferences.update_one(
            {"_id": user_id}, {"$set": {f"muted.{room_id}": until}}, upsert=True
        )

    def unmute(self, user_id: str, room_id: str) -> None:
        self._preferences.update_one({"_id": user_id}, {"$unset": {f"muted.{room_id}": ""}})


@traced_calls("mongodb")
class MongoPushLedger:
    """One document per push sent, keyed by (message, device token): the insert is the claim."""

    def __init__(self, db: Database[Document]) -> None:
        self._sent = db[PUSH_SENT]

    def claim(self, message_id: str, device: Device) -> bool:
        try:
            self._sent.insert_one(
                {"_id": f"{message_id}:{_key(device)}", "sentAt": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return False
        return True

    def release(self, message_id: str, device: Device) -> None:
        self._sent.delete_one({"_id": f"{message_id}:{_key(device)}"})
