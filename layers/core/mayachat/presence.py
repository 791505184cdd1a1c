"""Presence: who of a room's members is online, and when the others were last seen.

A user is online while any of their connections is live: it connected, or sent a frame, in
the last PRESENCE_LIVENESS_SECONDS (every frame counts, `ping` included). lastSeen is when
the last one went away, or sent its last frame. A user who hides their presence appears
offline without a lastSeen, and sees everyone else that way too. Only members of a room the
caller is in can be asked about: no probing whether an arbitrary user id is online.

Asked (`presence`, REST) it is read at once; changes are pushed by mayachat.presence_push.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from mayachat import frames
from mayachat.errors import ChatError, ErrorCode
from mayachat.membership import Rooms
from mayachat.ports import (
    EventLog,
    LogRecord,
    PresenceProfile,
    PresenceRegistry,
    PresenceStore,
    Seen,
)

logger = Logger(child=True)

# API Gateway closes a connection after 10 minutes without a client frame (its $disconnect is
# best effort): a connection silent for longer is gone. A minute of slack for clocks.
PRESENCE_LIVENESS_SECONDS = 11 * 60
# One answer names at most this many users (a bigger room names whom it asks about).
MAX_ASKED = 100
PRESENCE_CHANGED = "presence.changed"  # the eventType header of a presence record


@dataclass(frozen=True)
class UserPresence:
    user_id: str
    online: bool
    last_seen: datetime | None = None

    def to_wire(self) -> frames.UserPresence:
        wire: frames.UserPresence = {"userId": self.user_id, "online": self.online}
        if self.last_seen is not None:
            wire["lastSeen"] = self.last_seen.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            )
        return wire

    @property
    def shown(self) -> str:
        """What a push told: only going on- and offline are pushed (lastSeen is asked)."""
        return "online" if self.online else "offline"


def visible(user_id: str, seen: Seen | None, profile: PresenceProfile | None) -> UserPresence:
    """What others see of a user: offline without a lastSeen if they hide it; else online, or
    offline since the later of Redis's lastSeen and the last one stored."""
    if profile is not None and profile.hidden:
        return UserPresence(user_id, online=False)
    if seen is not None and seen.online:
        return UserPresence(user_id, online=True)
    times = []
    if seen is not None and seen.last_seen_ms:
        times.append(datetime.fromtimestamp(seen.last_seen_ms / 1000, UTC))
    if profile is not None and profile.last_seen is not None:
        times.append(profile.last_seen)
    return UserPresence(user_id, online=False, last_seen=max(times, default=None))


def presence_record(topic: str, user_id: str, at_ms: int, cause: str) -> LogRecord:
    """A user's presence may have changed at `at_ms`: look again once it has held (the
    debounce, mayachat.presence_push). Keyed by user: one user's records stay in order."""
    import json

    value = json.dumps({"userId": user_id, "at": at_ms, "cause": cause}).encode()
    return LogRecord(topic, user_id, value, {"eventType": PRESENCE_CHANGED})


@dataclass(frozen=True)
class Announcer:
    """Puts presence records on their topic. Best effort: a record Kafka did not take only
    means no push for that change (asking stays right), so it never fails a connect."""

    topic: str
    log: EventLog | None  # None: presence changes are not pushed (PRESENCE_ENABLED=false)

    def changed(self, user_id: str, at_ms: int, cause: str) -> None:
        if self.log is None:
            return
        try:
            self.log.append(presence_record(self.topic, user_id, at_ms, cause))
        except Exception as exc:
            logger.warning(
                "presence change not announced (no push for it; asking stays right)",
                extra={"userId": user_id, "cause": cause, "error": f"{type(exc).__name__}: {exc}"},
            )


@dataclass
class Presence:
    rooms: Rooms
    registry: PresenceRegistry
    store: PresenceStore
    announcer: Announcer

    def ask(
        self, user_id: str, room_id: str, user_ids: Sequence[str] | None = None
    ) -> list[UserPresence]:
        """The presence of the room's other members (or of those of `user_ids` who are
        members: the others are left out), as the asker may see it."""
        members = self.rooms.members(room_id)
        if user_id not in members:
            raise ChatError(ErrorCode.NOT_A_MEMBER, f"not a member of room {room_id}")
        if user_ids is None:
            if len(members) - 1 > MAX_ASKED:
                raise ChatError(
                    ErrorCode.INVALID_FIELD,
                    f"room {room_id} has {len(members)} members: name at most {MAX_ASKED} "
                    "userIds to ask about",
                )
            asked = sorted(members - {user_id})
        else:
            asked = [u for u in dict.fromkeys(user_ids) if u in members and u != user_id]
        if not asked:
            return []
        profiles = self.store.profiles([*asked, user_id])
        if user_id in profiles and profiles[user_id].hidden:
            # Hiding is both ways, as most messengers do it.
            return [UserPresence(u, online=False) for u in asked]
        seen = self.registry.seen(asked)
        return [visible(u, seen.get(u), profiles.get(u)) for u in asked]

    def hidden(self, user_id: str) -> bool:
        profile = self.store.profiles([user_id]).get(user_id)
        return profile is not None and profile.hidden

    def set_hidden(self, user_id: str, hidden: bool) -> None:
        import time

        self.store.set_hidden(user_id, hidden)
        logger.info("presence visibility set", extra={"userId": user_id, "hidden": hidden})
        self.announcer.changed(user_id, int(time.time() * 1000), "visibility")


def presence_frame(
    users: Sequence[UserPresence], room_id: str | None = None
) -> frames.PresenceFrame:
    frame: frames.PresenceFrame = {"type": "presence", "users": [u.to_wire() for u in users]}
    if room_id is not None:
        frame["roomId"] = room_id
    return frame
