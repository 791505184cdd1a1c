"""The notify service: the chat-messages log in, pushes to offline members' devices out.

It reads the log with a consumer group of its own, so pushes never slow a send or its
persistence. At-least-once delivery of records, at-most-once pushes: a (message, device) push
is claimed in the ledger before it is sent, so a redelivered batch sends none twice; a push
that failed for now (a throttle) is released and its record retried, without holding up the
others. A record that is not a message is skipped; one that can never be read is skipped with
a warning: persist, reading the same log, dead-letters it (one dead letter per record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from mayachat.catch_up import unread_ranges
from mayachat.log_schema import STABLE_EVENT, WireMessage
from mayachat.metrics import Count, Metrics
from mayachat.model import Message, ReceiptKind
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
)

logger = Logger(child=True)


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

    def notify(self, records: list[IncomingRecord]) -> list[Outcome]:
        outcomes = []
        for record in records:
            message = self._message(record)
            if isinstance(message, Outcome):
                outcomes.append(message)
                continue
            try:
                self._notify(message)
            except PushThrottled as exc:
                logger.warning(
                    "push to retry", extra={"messageId": message.message_id, "error": str(exc)}
                )
                outcomes.append(Outcome.RETRY)
            else:
                outcomes.append(Outcome.DONE)
        return outcomes

    def _message(self, record: IncomingRecord) -> Message | Outcome:
        if record.topic != self.messages_topic or _event(record) == STABLE_EVENT:
            return Outcome.DONE  # nothing to tell anyone
        try:
            wire = WireMessage.model_validate_json(record.value or b"")
        except ValidationError as exc:
            where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
            logger.warning(
                "unreadable record skipped", extra={**where, "error": exc.errors()[0]["msg"]}
            )
            return Outcome.DONE
        return wire.message()

    def _notify(self, message: Message) -> None:
        room = self.reads.room(message.room_id)
        if room is None:
            return  # the room is gone: nobody to wake
        others = [m for m in room.members if m != message.sender_id]
        online = self.connections.connections_of(others)
        # A member who went offline since the message was sent, but whose phone confirmed
        # it (markDelivered), has seen it: no push. One whose phone never did gets one.
        delivered = self.cursors.positions(room.room_id, others, ReceiptKind.DELIVERED)
        offline = [m for m in others if not online.get(m) and delivered.get(m, 0) < message.seq]
        if not offline:
            return
        preferences = self.preferences.of_users(offline)
        devices = self.devices.of_users(offline)
        now = self.clock()
        for user in recipients(message, room, online, preferences, devices, now):
            prefs = preferences.get(user) or PushPreferences()
            notification = notification_for(message, room, prefs, self._badge(user, message))
            for device in devices[user]:
                self._send(message, device, notification)

    def _send(self, message: Message, device: Device, notification: Notification) -> None:
        if not self.ledger.claim(message.message_id, device):
            self.metrics.count(Count.PUSHES_SKIPPED)
            return
        try:
            endpoint = device.endpoint or self._endpoint(device)
            outcome = self.sender.send(endpoint, device, notification)
        except PushThrottled:
            self.ledger.release(message.message_id, device)
            raise
        except LookupError as exc:
            self.ledger.release(message.message_id, device)
            logger.warning("push not sent", extra={"deviceId": device.device_id, "error": str(exc)})
            return
        if outcome is PushOutcome.GONE:
            self.devices.forget(device)
            self.metrics.count(Count.DEVICES_PRUNED)
            logger.info(
                "device pruned", extra={"userId": device.user_id, "deviceId": device.device_id}
            )
            return
        self.metrics.count(Count.PUSHES_SENT)

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


def _event(record: IncomingRecord) -> str | None:
    raw = record.headers.get("eventType")
    return raw.decode(errors="replace") if raw is not None else None
