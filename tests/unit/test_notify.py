"""The notify service with fakes: who is woken, what their push says, and that a redelivered
batch, a throttle or a dead endpoint never sends a push twice or loses one."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from mayachat.metrics import Count
from mayachat.model import Message, ReceiptKind, Room, RoomType
from mayachat.notify import Notifier
from mayachat.persistence import IncomingRecord, Outcome
from mayachat.push import GENERIC_BODY, Device, Platform
from tests.fakes import FakeCursors, FakeMetrics, FakeRegistry, FakeRoomStore
from tests.push_fakes import FakeDevices, FakePreferences, FakePushLedger, FakeSender

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TOPIC = "chat-messages"


@dataclass
class Setup:
    store: FakeRoomStore = field(default_factory=FakeRoomStore)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    cursors: FakeCursors = field(default_factory=FakeCursors)
    devices: FakeDevices = field(default_factory=FakeDevices)
    preferences: FakePreferences = field(default_factory=FakePreferences)
    sender: FakeSender = field(default_factory=FakeSender)
    ledger: FakePushLedger = field(default_factory=FakePushLedger)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)

    def __post_init__(self) -> None:
        self.notifier = Notifier(
            TOPIC,
            self.store,
            self.registry,
            self.cursors,
            self.devices,
            self.preferences,
            self.sender,
            self.ledger,
            self.metrics,
            clock=lambda: NOW,
        )

    def room(self, room_id: str, *members: str, name: str | None = None) -> Room:
        kind = RoomType.GROUP if name else RoomType.DIRECT
        room = Room(room_id, kind, members, members[0], NOW, name=name)
        self.store.rooms_by_id[room_id] = room
        return room

    def phone(self, user: str, token: str | None = None) -> Device:
        device = Device(user, f"{user}-phone", Platform.FCM, token or f"tok-{user}")
        return self.devices.register(device)

    def bodies(self) -> list[tuple[str, str, int]]:
        return [(token, n.body, n.badge) for token, n in self.sender.sent]


def _message(seq: int, text: str = "hello", room: str = "r1", sender: str = "alice") -> Message:
    message_id = f"01J{zlib.crc32(room.encode()) % 1000:03d}{seq:020d}"  # a ULID's shape
    content = {"type": "text", "text": text}
    return Message(message_id, room, seq, sender, f"c-{seq}", content, "2026-12-02T12:00:00.000Z")


def _record(message: Message, offset: int = 0) -> IncomingRecord:
    value = json.dumps({"schemaVersion": 1, **message.to_wire()}).encode()
    return IncomingRecord(TOPIC, 0, offset, message.room_id.encode(), value, {})


@pytest.fixture
def s() -> Setup:
    return Setup()


def test_offline_members_with_a_device_are_woken_and_nobody_else(s: Setup) -> None:
    s.room("r1", "alice", "bob", "carol", "dave", name="Team")
    for user in ("alice", "bob", "carol"):
        s.phone(user)
    s.registry.register("conn-carol", "carol")  # online: the message reaches her live
    assert s.notifier.notify([_record(_message(1, "lunch?"))]) == [Outcome.DONE]
    # alice sent it, carol is online, dave has no device.
    assert [(t, n.title, n.body) for t, n in s.sender.sent] == [("tok-bob", "Team", "lunch?")]
    ((_, sent),) = s.sender.sent
    assert (sent.room_id, sent.seq, sent.message_id, sent.collapse_key) == (
        "r1",
        1,
        _message(1).message_id,
        "room-r1",
    )
    assert s.metrics.counts[Count.PUSHES_SENT] == 1


def test_a_direct_room_is_titled_by_its_sender(s: Setup) -> None:
    s.room("d1", "alice", "bob")
    s.phone("bob")
    s.notifier.notify([_record(_message(1, room="d1"))])
    assert [n.title for _, n in s.sender.sent] == ["alice"]


def test_a_muted_room_stays_quiet_until_the_mute_ends(s: Setup) -> None:
    s.room("r1", "alice", "bob", "carol", name="Team")
    s.phone("bob"), s.phone("carol")
    s.preferences.mute("bob", "r1", None)  # forever
    s.preferences.mute("carol", "r1", NOW - timedelta(minutes=1))  # ended a minute ago
    s.notifier.notify([_record(_message(1))])
    assert [t for t, _ in s.sender.sent] == ["tok-carol"]


def test_hidden_previews_get_a_generic_body(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    s.preferences.set_preview("bob", False)
    s.notifier.notify([_record(_message(1, "the secret plan"))])
    assert [n.body for _, n in s.sender.sent] == [GENERIC_BODY]


def test_the_badge_counts_what_is_unread_and_this_message_until_it_is_stored(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.room("r2", "carol", "bob", name="Other")
    s.phone("bob")
    s.store.store(_message(1, room="r2", sender="carol"), _message(2, room="r2", sender="carol"))
    s.notifier.notify([_record(_message(1))])  # not stored yet: 2 + 1
    s.store.store(_message(1))
    s.notifier.notify([_record(_message(1), offset=1)])  # redelivered: no second push
    s.store.store(_message(2))
    s.notifier.notify([_record(_message(2), offset=2)])  # stored already: 2 + 2, not 5
    assert [badge for _, _, badge in s.bodies()] == [3, 4]


def test_a_redelivered_batch_sends_no_push_twice(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    batch = [_record(_message(1)), _record(_message(2), 1)]
    assert s.notifier.notify(batch) == [Outcome.DONE, Outcome.DONE]
    assert s.notifier.notify(batch) == [Outcome.DONE, Outcome.DONE]
    assert len(s.sender.sent) == 2
    assert s.metrics.counts[Count.PUSHES_SKIPPED] == 2


def test_a_throttled_push_is_retried_alone_and_then_sent_once(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    s.sender.throttle = 1
    batch = [_record(_message(1)), _record(_message(2), 1)]
    assert s.notifier.notify(batch) == [Outcome.RETRY, Outcome.DONE]
    assert s.notifier.notify(batch[:1]) == [Outcome.DONE]  # the mapping redelivers it
    assert sorted(n.seq for _, n in s.sender.sent) == [1, 2]


def test_a_disabled_endpoint_prunes_its_device_and_the_others_still_get_theirs(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    tablet = s.devices.register(Device("bob", "bob-tablet", Platform.APNS, "tok-tablet"))
    s.sender.disabled.add(tablet.token)
    s.notifier.notify([_record(_message(1))])
    assert [t for t, _ in s.sender.sent] == ["tok-bob"]
    assert [d.device_id for d in s.devices.of_users(["bob"])["bob"]] == ["bob-phone"]
    assert s.metrics.counts[Count.DEVICES_PRUNED] == 1


def test_an_endpoint_is_made_once_per_token_and_kept(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    s.notifier.notify([_record(_message(1)), _record(_message(2), 1)])
    assert s.sender.endpoints_made == 1
    assert s.devices.of_users(["bob"])["bob"][0].endpoint == "arn:endpoint/FCM/tok-bob"


@pytest.mark.parametrize("value", [None, b"not json", b'{"roomId": "r1"}'])
def test_an_unreadable_record_is_skipped_and_the_batch_goes_on(
    s: Setup, value: bytes | None
) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    bad = IncomingRecord(TOPIC, 0, 0, b"r1", value, {})
    assert s.notifier.notify([bad, _record(_message(2), 1)]) == [Outcome.DONE, Outcome.DONE]
    assert [n.seq for _, n in s.sender.sent] == [2]


def test_stable_marks_and_unknown_rooms_wake_nobody(s: Setup) -> None:
    s.phone("bob")
    mark = IncomingRecord(
        TOPIC, 0, 0, b"r1", b'{"roomId":"r1","stableSeq":3}', {"eventType": b"room.stable"}
    )
    assert s.notifier.notify([mark, _record(_message(1, room="gone"), 1)]) == [Outcome.DONE] * 2
    assert s.sender.sent == []


def test_a_member_whose_phone_confirmed_the_message_before_going_offline_gets_no_push(
    s: Setup,
) -> None:
    s.room("r1", "alice", "bob", "carol", name="Team")
    s.phone("bob"), s.phone("carol")
    s.cursors.advance("r1", "bob", ReceiptKind.DELIVERED, 1)  # bob's phone had it live
    s.notifier.notify([_record(_message(1)), _record(_message(2), 1)])
    assert sorted((t, n.seq) for t, n in s.sender.sent) == [
        ("tok-bob", 2),
        ("tok-carol", 1),
        ("tok-carol", 2),
    ]


def test_a_push_that_fails_unforeseen_fails_the_batch_and_is_sent_on_redelivery(s: Setup) -> None:
    s.room("r1", "alice", "bob", name="Team")
    s.phone("bob")
    s.sender.error = RuntimeError("SNS answered something new")
    with pytest.raises(RuntimeError):
        s.notifier.notify([_record(_message(1))])
    s.sender.error = None
    assert s.notifier.notify([_record(_message(1))]) == [Outcome.DONE]
    assert [n.seq for _, n in s.sender.sent] == [1]
