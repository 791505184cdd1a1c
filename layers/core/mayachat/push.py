"""Push notifications, the pure part: devices, preferences, and what a member's push says.

A stored message wakes the room's members who are not connected, have not muted the room and
have a device; everything else here decides what their notification shows. No I/O: the
notify service (mayachat.notify) reads the stores and sends through the ports.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mayachat.model import Message, Room, RoomType

PREVIEW_CHARS = 120  # what a lock screen shows of a message before it cuts it anyway
GENERIC_BODY = "New message"
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # ZWJ and the variation selectors


class Platform(StrEnum):
    """What SNS calls the platform of an endpoint's platform application."""

    FCM = "FCM"  # Android (and iOS through Firebase)
    APNS = "APNS"
    APNS_SANDBOX = "APNS_SANDBOX"  # development builds of the iOS app


@dataclass(frozen=True)
class Device:
    """One app install of a user: its push token and, once made, its SNS endpoint."""

    user_id: str
    device_id: str  # chosen by the app, stable across token refreshes
    platform: Platform
    token: str
    endpoint: str | None = None


@dataclass(frozen=True)
class PushPreferences:
    show_preview: bool = True
    muted: Mapping[str, datetime | None] = field(default_factory=dict)  # room -> until (None: ever)

    def muted_now(self, room_id: str, now: datetime) -> bool:
        if room_id not in self.muted:
            return False
        until = self.muted[room_id]
        return until is None or until > now


@dataclass(frozen=True)
class Notification:
    """What one device is sent: enough for the lock screen, and for the app to open the room
    and sync from `seq`."""

    title: str
    body: str
    badge: int
    room_id: str
    seq: int
    message_id: str

    @property
    def collapse_key(self) -> str:
        """A burst in one room replaces, instead of stacking (FCM collapse_key, APNs
        apns-collapse-id and thread-id)."""
        return f"room-{self.room_id}"


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of `text`, at most `limit` characters, never cut inside what a reader sees as
    one character: a letter and its combining marks, an emoji with its skin tone or joined to
    others with ZWJ, a flag's two regional indicators."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = limit - 1  # room for the ellipsis
    while cut > 0 and _inside(text, cut):
        cut -= 1
    return text[:cut].rstrip() + "…"


def _inside(text: str, cut: int) -> bool:
    """Whether cutting before text[cut] splits one visible character."""
    before, after = text[cut - 1], text[cut]
    if after in _JOINERS or before == "\u200d" or unicodedata.combining(after):
        return True
    if "\U0001f3fb" <= after <= "\U0001f3ff":  # a skin tone modifies what is before it
        return True
    if _regional(before) and _regional(after):  # a flag is a pair: count how many precede
        run = 0
        while cut - run - 1 >= 0 and _regional(text[cut - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def notification_for(
    message: Message, room: Room, preferences: PushPreferences, badge: int
) -> Notification:
    """Title: the group's name, or the sender in a direct room. Body: the text's preview, or a
    generic body when the user hides previews or the message has no text."""
    title = room.name if room.type is RoomType.GROUP and room.name else message.sender_id
    text = message.content.get("text") if message.content.get("type") == "text" else None
    body = preview(text) if preferences.show_preview and isinstance(text, str) else GENERIC_BODY
    return Notification(
        title=title,
        body=body or GENERIC_BODY,
        badge=badge,
        room_id=message.room_id,
        seq=message.seq,
        message_id=message.message_id,
    )


def unreached(
    message: Message, room: Room, online: Mapping[str, list[str]], delivered: Mapping[str, int]
) -> list[str]:
    """The members the message has not reached: not the sender, no live connection, and
    their phone has not confirmed it (markDelivered) -- one that did has it, even if offline
    since."""
    return [
        member
        for member in sorted(room.members)
        if member != message.sender_id
        and not online.get(member)
        and delivered.get(member, 0) < message.seq
    ]


def recipients(
    room_id: str,
    unreached: list[str],
    preferences: Mapping[str, PushPreferences],
    devices: Mapping[str, list[Device]],
    now: datetime,
) -> list[str]:
    """Of the members the message has not reached, the ones to wake: not muted, with a
    device."""
    return [
        member
        for member in unreached
        if devices.get(member)
        and not preferences.get(member, PushPreferences()).muted_now(room_id, now)
    ]
