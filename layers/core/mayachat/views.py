"""Read-side records for the REST API: rooms as a member sees them, cursors, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RoomType(StrEnum):
    DIRECT = "direct"
    GROUP = "group"


@dataclass(frozen=True)
class Room:
    room_id: str
    type: RoomType
    members: tuple[str, ...]
    created_by: str
    created_at: datetime
    name: str | None = None
    last_seq: int = 0
    # Catch-up (history, unread) serves no seq above it: every acked message at or below it
    # is stored (the persist function raises it; see docs/architecture.md, G2).
    stable_seq: int = 0
    last_message: dict[str, Any] | None = None
    updated_at: datetime | None = None
    # Group rooms: userId -> "owner" | "admin" (everyone else a plain member); mayachat.roles.
    roles: dict[str, str] = field(default_factory=dict)
    # Bumped by every change of members (a time in ns): the membership cache never takes an
    # older list than the newest it was told about.
    members_version: int = 0


@dataclass(frozen=True)
class Cursor:
    delivered_up_to_seq: int = 0
    read_up_to_seq: int = 0


@dataclass(frozen=True)
class RoomStats:
    message_count: int
    per_sender: dict[str, int]
    first_message_at: datetime | None
    last_message_at: datetime | None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    cursor: dict[str, int] | None = field(default=None)
    caught_up: bool = True  # false: more is on its way into the store
