"""The notify service: the chat-messages log in, pushes to offline members' devices out.

It reads the log with a consumer group of its own, so pushes never slow a send or its
persistence. At-least-once delivery of records, at-most-once pushes: a (message, device) push
is claimed in the ledger before it is sent, so a redelivered batch sends none twice; a push
that failed for now (a throttle) is released and its record retried, without holding up the
others. A record that is not a message is skipped; one that can never be read is skipped with
a warning: persist, reading the same log, dead-letters it (one dead letter per record).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum, auto

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from mayachat.catch_up import unread_ranges
from mayachat.log_schema import MESSAGE_CREATED, WireMessage
from mayachat.metrics import Count, Metrics
from mayachat.model import Message, ReceiptKind, Room
from mayachat.persistence import IncomingRecord, Outcome
from mayachat.ports import (
    ChatReads,
    ConnectionRegistry,
    Cursors,
    DeviceRegistry,
    PushLedger,
    PushOutcome,
    PushPreferenceStore,
    PushSender,
    PushThrottled,
)
from mayachat.push import (
    Device,
    Notification,
    PushPreferences,
    notification_for,
    recipients,
    unreached,
)

logger = Logger(child=True)


class _Sent(Enum):
    SENT = auto()
    ALREADY = auto()  # claimed by an earlier delivery of the record: not sent twice
    PRUNED = auto()  # the endpoint is disabled: the device is forgotten
    THROTTLED = auto()  # released, for the record's redelivery
    UNSUPPORTED = auto()  # no platform application for the device's platform


@dataclass
class Notifier:
    messages_topic: str
    reads: ChatReads
    connections: ConnectionRegistry
    cursors: Cursors
    devices: DeviceRegistry
    preferences: PushPreferenceStore
    sender: PushSender
    ledger: PushLedger
    metrics: Metrics
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    workers: int = 8  # pushes in flight at once, per invocation
    _executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def notify(self, records: list[IncomingRecord]) -> list[Outcome]:
        """Every push of the batch is decided first, then sent a few at a time (each is a
        ledger insert and an SNS call: I/O the threads overlap)."""
        outcomes: list[Outcome] = []
        pushes: list[tuple[int, Message, Device, Notification]] = []
        rooms: dict[str, Room | None] = {}  # a burst in one room reads it once
        for i, record in enumerate(records):
            message = self._message(record)
            outcomes.append(message if isinstance(message, Outcome) else Outcome.DONE)
            if isinstance(message, Message):
                if message.room_id not in rooms:
                    rooms[message.room_id] = self.reads.room(message.room_id)
                room = rooms[message.room_id]
                pushes += [(i, message, d, n) for d, n in self._pushes(message, room)]
        pushes = self._with_endpoints(pushes)
        sent = self._pool().map(lambda push: self._send(*push[1:]), pushes)
        for (i, message, device, _), result in zip(pushes, sent, strict=True):
            self._count(result, message, device)
            if result is _Sent.THROTTLED:
                outcomes[i] = Outcome.RETRY  # redelivered alone; its sent pushes are not resent
        return outcomes

    def _with_endpoints(
        self, pushes: list[tuple[int, Message, Device, Notification]]
    ) -> list[tuple[int, Message, Device, Notification]]:
        """A new device's endpoint is made once, before its pushes go out together (a
        failure here is left to its push to meet and answer)."""
        made: dict[str, str] = {}
        for _, _, device, _ in pushes:
            if device.endpoint is None and device.token not in made:
                with contextlib.suppress(PushThrottled, LookupError):
                    made[device.token] = self._endpoint(device)
        return [
            (i, m, replace(d, endpoint=made.get(d.token, d.endpoint)), n) for i, m, d, n in pushes
        ]

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="push")
        return self._executor

    def _count(self, result: _Sent, message: Message, device: Device) -> None:
        """Metrics and logs, on the invocation's own thread."""
        where = {"messageId": message.message_id, "deviceId": device.device_id}
        if result is _Sent.SENT:
            self.metrics.count(Count.PUSHES_SENT)
        elif result is _Sent.ALREADY:
            self.metrics.count(Count.PUSHES_SKIPPED)
        elif result is _Sent.PRUNED:
            self.metrics.count(Count.DEVICES_PRUNED)
            logger.info("device pruned", extra={**where, "userId": device.user_id})
        elif result is _Sent.THROTTLED:
            logger.warning("push to retry", extra=where)
        else:
            logger.warning(
                "push not sent: no platform application",
                extra={**where, "platform": device.platform},
            )

    def _message(self, record: IncomingRecord) -> Message | Outcome:
        if record.topic != self.messages_topic or record.event_type not in (None, MESSAGE_CREATED):
            return Outcome.DONE  # nothing to tell anyone (a stable seq, an edit, a reaction)
        try:
            wire = WireMessage.model_validate_json(record.value or b"")
        except ValidationError as exc:
            where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
            logger.warning(
                "unreadable record skipped", extra={**where, "error": exc.errors()[0]["msg"]}
            )
            return Outcome.DONE
        return wire.message()

    def _pushes(self, message: Message, room: Room | None) -> list[tuple[Device, Notification]]:
        if room is None:
            return []  # the room is gone: nobody to wake
        others = [m for m in room.members if m != message.sender_id]
        online = self.connections.connections_of(others)
        delivered = self.cursors.positions(room.room_id, others, ReceiptKind.DELIVERED)
        candidates = unreached(message, room, online, delivered)
        if not candidates:
            return []
        preferences = self.preferences.of_users(candidates)
        devices = self.devices.of_users(candidates)
        pushes = []
        for user in recipients(room.room_id, candidates, preferences, devices, self.clock()):
            prefs = preferences.get(user) or PushPreferences()
            notification = notification_for(message, room, prefs, self._badge(user, message))
            pushes += [(device, notification) for device in devices[user]]
        return pushes

    def _send(self, message: Message, device: Device, notification: Notification) -> _Sent:
        """One push, claimed first (a worker thread: no metrics or logs here)."""
        if not self.ledger.claim(message.message_id, device):
            return _Sent.ALREADY
        try:
            endpoint = device.endpoint or self._endpoint(device)
            outcome = self.sender.send(endpoint, device, notification)
        except (PushThrottled, LookupError) as exc:
            self.ledger.release(message.message_id, device)
            return _Sent.THROTTLED if isinstance(exc, PushThrottled) else _Sent.UNSUPPORTED
        except Exception:
            # Unforeseen (the invocation fails and the batch comes again): not sent, so the
            # redelivery must be free to send it.
            with contextlib.suppress(Exception):
                self.ledger.release(message.message_id, device)
            raise
        if outcome is PushOutcome.GONE:
            self.devices.forget(device)
            return _Sent.PRUNED
        return _Sent.SENT

    def _endpoint(self, device: Device) -> str:
        endpoint = self.sender.endpoint(device)
        self.devices.set_endpoint(device, endpoint)
        return endpoint

    def _badge(self, user: str, message: Message) -> int:
        """The user's unread messages as stored, and this one if persist has not stored it
        yet (both read the log at their own pace)."""
        rooms = self.reads.rooms_of(user)
        ranges = unread_ranges(rooms, self.reads.cursors(user, [r.room_id for r in rooms]))
        count = sum(self.reads.unread_counts(user, ranges).values())
        room = next((r for r in rooms if r.room_id == message.room_id), None)
        return count + (1 if room is None or message.seq > room.stable_seq else 0)
