"""Presence changes, pushed: the presence topic in, `presence` frames to contacts out.

A connect or disconnect that changes whether a user is online (and hiding or showing it)
puts a record on the presence topic. This service waits until the newest record of a batch
is PRESENCE_DEBOUNCE_SECONDS old, then looks at each user again: a user who changed again
since (a phone between networks) is left to that later record; one whose presence is what
was last pushed is not pushed again. So a flapping connection costs no pushes, and a user
costs at most one push per debounce period. The others' change goes to the online members of
the rooms they share, in rooms of at most `max_members` (a bigger room's members ask), and
not to members who hide their own presence. Each user's lastSeen is kept in MongoDB too.

Best effort, at least once: a redelivered batch pushes the same frames again (a client
keeps the latest presence of each user; a repeat changes nothing).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from mayachat.delivery import Delivery
from mayachat.frames import ServerFrame
from mayachat.metrics import Count, Metrics
from mayachat.persistence import IncomingRecord, Outcome
from mayachat.ports import PresenceRegistry, PresenceStore
from mayachat.presence import PRESENCE_CHANGED, UserPresence, presence_frame, visible

logger = Logger(child=True)


@dataclass
class PresencePushes:
    registry: PresenceRegistry
    store: PresenceStore
    delivery: Delivery
    metrics: Metrics
    debounce_seconds: float
    max_members: int  # rooms with more members are not told (0: no pushes at all)
    clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def push(self, records: list[IncomingRecord]) -> list[Outcome]:
        latest: dict[str, int] = {}
        for record in records:
            change = _change(record)
            if change is not None:
                user_id, at_ms = change
                latest[user_id] = max(at_ms, latest.get(user_id, 0))
        if latest:
            self._settle(max(latest.values()))
            self._push(latest)
        return [Outcome.DONE] * len(records)

    def _settle(self, newest_ms: int) -> None:
        """Until the newest change has held for the debounce period (a record's time may be
        ahead of this clock: never longer than the period itself)."""
        wait = newest_ms / 1000 + self.debounce_seconds - self.clock()
        if wait > 0:
            self.sleep(min(wait, self.debounce_seconds))

    def _push(self, latest: dict[str, int]) -> None:
        users = list(latest)
        seen = self.registry.seen(users)
        # A user who changed again since has a later record: it is looked at once it held.
        settled = [u for u in users if seen[u].changed_at_ms <= latest[u]]
        profiles = self.store.profiles(settled)
        views = {u: visible(u, seen[u], profiles.get(u)) for u in settled}
        self.store.record_last_seen({u: v.last_seen for u, v in views.items() if v.last_seen})
        changed = {u: v for u, v in views.items() if v.shown != seen[u].shown}
        told = self._contacts(changed) if changed and self.max_members > 0 else {}
        frames: dict[str, ServerFrame] = {
            member: presence_frame(sorted(about.values(), key=lambda p: p.user_id))
            for member, about in told.items()
        }
        self.delivery.to_users(frames, what="presence")
        self.registry.show({u: v.shown for u, v in changed.items()})
        self.metrics.count(Count.PRESENCE_CHANGES, len(changed))
        logger.info(
            "presence looked at",
            extra={
                "users": len(users),
                "settled": len(settled),
                "changed": len(changed),
                "told": len(frames),
            },
        )

    def _contacts(self, changed: dict[str, UserPresence]) -> dict[str, dict[str, UserPresence]]:
        """member -> the changed users they share a small enough room with."""
        told: dict[str, dict[str, UserPresence]] = defaultdict(dict)
        for members in self.store.rooms_with(list(changed)).values():
            if len(members) > self.max_members:
                continue
            for user_id in changed.keys() & set(members):
                for member in members:
                    if member != user_id:
                        told[member][user_id] = changed[user_id]
        hiding = {u for u, p in self.store.profiles(list(told)).items() if p.hidden}
        return {member: about for member, about in told.items() if member not in hiding}


def _change(record: IncomingRecord) -> tuple[str, int] | None:
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    if record.event_type != PRESENCE_CHANGED:
        logger.warning("not a presence record: skipped", extra=where)
        return None
    try:
        data = json.loads(record.value or b"")
        user_id, at_ms = data["userId"], data["at"]
        if isinstance(user_id, str) and user_id and isinstance(at_ms, int):
            return user_id, at_ms
    except (ValueError, TypeError, KeyError):
        pass
    logger.warning("unreadable presence record: skipped", extra=where)
    return None
