"""In-memory stand-ins for the ports, for unit tests of the domain (no I/O anywhere)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mayachat.chat import Delivery, Messaging, Receipts, Rooms, Sync, Typing
from mayachat.model import Message, ReceiptKind
from mayachat.ports import LogPosition, LogRecord, LogUnavailable


class FakeRegistry:
    def __init__(self) -> None:
        self.user_of: dict[str, str] = {}

    def register(self, connection_id: str, user_id: str) -> None:
        self.user_of[connection_id] = user_id

    def unregister(self, connection_id: str) -> str | None:
        return self.user_of.pop(connection_id, None)

    def connections_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(user_ids)
        result: dict[str, list[str]] = defaultdict(list)
        for connection_id, user in sorted(self.user_of.items()):
            if user in wanted:
                result[user].append(connection_id)
        return dict(result)


class FakeMembershipCache:
    def __init__(self) -> None:
        self.rooms: dict[str, frozenset[str]] = {}

    def get(self, room_id: str) -> frozenset[str] | None:
        return self.rooms.get(room_id)

    def put(self, room_id: str, members: frozenset[str]) -> None:
        self.rooms[room_id] = members


class FakeDirectory:
    def __init__(self, rooms: dict[str, set[str]] | None = None) -> None:
        self.rooms = {r: frozenset(m) for r, m in (rooms or {}).items()}
        self.reads = 0

    def members(self, room_id: str) -> frozenset[str] | None:
        self.reads += 1
        return self.rooms.get(room_id)


class FakeSequences:
    def __init__(self) -> None:
        self.counters: dict[str, int] = defaultdict(int)

    def next_seq(self, room_id: str) -> int:
        self.counters[room_id] += 1
        return self.counters[room_id]

    def latest(self, room_id: str) -> int | None:
        return self.counters.get(room_id)


class FakeLog:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self.down = False

    def append(self, record: LogRecord) -> LogPosition:
        if self.down:
            raise LogUnavailable("broker down")
        self.records.append(record)
        return LogPosition(record.topic, 0, len(self.records) - 1)


class FakeIdempotency:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[Message, bool]] = {}

    def claim(
        self, sender_id: str, client_msg_id: str, message: Message
    ) -> tuple[Message, bool] | None:
        earlier = self.entries.get((sender_id, client_msg_id))
        if earlier is None:
            self.entries[(sender_id, client_msg_id)] = (message, False)
        return earlier

    def confirm(self, message: Message) -> None:
        self.entries[(message.sender_id, message.client_msg_id)] = (message, True)


class FakeRecent:
    def __init__(self, size: int = 1000) -> None:
        self.rooms: dict[str, dict[int, Message]] = defaultdict(dict)
        self.size = size

    def append(self, message: Message) -> None:
        window = self.rooms[message.room_id]
        window[message.seq] = message
        for seq in sorted(window)[: -self.size]:
            del window[seq]

    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[list[Message], bool]:
        window = self.rooms.get(room_id, {})
        found = [window[s] for s in sorted(window) if s > after_seq][:limit]
        return found, bool(window) and min(window) <= after_seq + 1


@dataclass
class FakeAcked:
    idempotency: FakeIdempotency
    recent: FakeRecent

    def remember(self, message: Message) -> None:
        self.idempotency.confirm(message)
        self.recent.append(message)


class FakeArchive:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def after(self, room_id: str, after_seq: int, limit: int) -> list[Message]:
        found = sorted(
            (m for m in self.messages if m.room_id == room_id and m.seq > after_seq),
            key=lambda m: m.seq,
        )
        return found[:limit]


class FakeCursors:
    def __init__(self) -> None:
        self.positions: dict[tuple[str, str, ReceiptKind], int] = {}

    def position(self, room_id: str, user_id: str, kind: ReceiptKind) -> int | None:
        return self.positions.get((room_id, user_id, kind))

    def advance(self, room_id: str, user_id: str, kind: ReceiptKind, up_to_seq: int) -> bool:
        key = (room_id, user_id, kind)
        if up_to_seq <= self.positions.get(key, -1):
            return False
        self.positions[key] = up_to_seq
        return True


class FakeGateway:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.gone: set[str] = set()

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> set[str]:
        gone = {cid for cid, _ in posts if cid in self.gone}
        self.sent += [(cid, data) for cid, data in posts if cid not in self.gone]
        return gone


@dataclass
class World:
    """Every fake, wired into every service, as bootstrap does with the real adapters."""

    rooms_by_id: dict[str, set[str]] = field(default_factory=dict)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    cache: FakeMembershipCache = field(default_factory=FakeMembershipCache)
    sequences: FakeSequences = field(default_factory=FakeSequences)
    log: FakeLog = field(default_factory=FakeLog)
    idempotency: FakeIdempotency = field(default_factory=FakeIdempotency)
    recent: FakeRecent = field(default_factory=FakeRecent)
    archive: FakeArchive = field(default_factory=FakeArchive)
    cursors: FakeCursors = field(default_factory=FakeCursors)
    gateway: FakeGateway = field(default_factory=FakeGateway)

    def __post_init__(self) -> None:
        self.directory = FakeDirectory(self.rooms_by_id)
        self.rooms = Rooms(self.cache, self.directory)
        self.delivery = Delivery(self.registry, self.gateway, wave=32)
        self.messaging = Messaging(
            "chat-messages",
            self.rooms,
            self.sequences,
            self.log,
            self.idempotency,
            FakeAcked(self.idempotency, self.recent),
            self.delivery,
        )
        self.typing = Typing(self.rooms, self.delivery)
        self.receipts = Receipts(
            "message-persistence", self.rooms, self.sequences, self.cursors, self.log, self.delivery
        )
        self.sync = Sync(self.rooms, self.recent, self.archive, self.delivery, page_size=100)
