"""What a user sets about their pushes over REST: their devices, a room muted (until a time
or for ever), and whether a push shows the message's text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mayachat.catch_up import room_of_member
from mayachat.errors import Invalid, NotFound
from mayachat.ports import ChatReads, DeviceRegistry, PushPreferenceStore
from mayachat.push import Device, Platform, PushPreferences

MAX_DEVICES_PER_USER = 10


@dataclass
class PushSettings:
    devices: DeviceRegistry
    preferences: PushPreferenceStore
    reads: ChatReads

    def register(self, user_id: str, device_id: str, platform: Platform, token: str) -> Device:
        """A token registered again moves to this user's device; a device's new token
        replaces its old one."""
        mine = self.devices.of_users([user_id]).get(user_id, [])
        if len(mine) >= MAX_DEVICES_PER_USER and device_id not in {d.device_id for d in mine}:
            raise Invalid(
                f"already {MAX_DEVICES_PER_USER} devices, the most one user can have: remove one"
            )
        return self.devices.register(Device(user_id, device_id, platform, token))

    def devices_of(self, user_id: str) -> list[Device]:
        return self.devices.of_users([user_id]).get(user_id, [])

    def remove(self, user_id: str, device_id: str) -> None:
        if not self.devices.remove(user_id, device_id):
            raise NotFound(f"device {device_id}")

    def preferences_of(self, user_id: str) -> PushPreferences:
        return self.preferences.of_users([user_id]).get(user_id, PushPreferences())

    def show_preview(self, user_id: str, show: bool) -> PushPreferences:
        self.preferences.set_preview(user_id, show)
        return self.preferences_of(user_id)

    def mute(self, user_id: str, room_id: str, until: datetime | None) -> None:
        room_of_member(self.reads, user_id, room_id)
        self.preferences.mute(user_id, room_id, until)

    def unmute(self, user_id: str, room_id: str) -> None:
        room_of_member(self.reads, user_id, room_id)
        self.preferences.unmute(user_id, room_id)
