"""The moving parts of bench_end_to_end.py: the mappings' fresh consumer groups, the poller
that sees messages arrive in MongoDB, and the phones that send and wait for their acks."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from common import ROOT, send_message_frame

TEMPLATE = ROOT / "template.yaml"
POLL_SECONDS = 0.025  # how often the visibility poller reads the room's new documents


@dataclass(frozen=True)
class Acked:
    """One message as its sender saw it: what it sent, what the ack said, and when."""

    sender: str
    client_msg_id: str
    message_id: str
    seq: int
    sent_at: float  # time.time()
    acked_at: float  # time.time()


# ---------------------------------------------------------------------- the mappings' groups
def fresh_groups_at_topic_end(run: str) -> dict[str, str]:
    """A new consumer group per mapping of the template, with the topic's end committed:
    the run's mappings read only what is produced from now on."""
    from mayachat_local.esm.spec import read_mappings
    from mayachat_local.runtime.template import load_template

    groups = {}
    for name, spec in read_mappings(load_template(TEMPLATE)).items():
        groups[name] = f"bench-e2e-{run}-{name}"
        commit_topic_end(groups[name], spec.topic)
    return groups


def commit_topic_end(group: str, topic: str) -> None:
    """Retried while the group coordinator is still loading (a fresh broker)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    from mayachat.kafka_config import consumer_config
    from mayachat.settings import load_settings

    consumer = Consumer(consumer_config(load_settings(), group))
    deadline = time.monotonic() + 30
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = [
            TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1])
            for p in sorted(partitions)
        ]
        while True:
            try:
                consumer.commit(offsets=ends, asynchronous=False)
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


def delete_groups(groups: list[str]) -> None:
    """Best effort: the run's groups are empty once its mappings stopped."""
    from confluent_kafka.admin import AdminClient

    from mayachat.kafka_config import client_config
    from mayachat.settings import load_settings

    admin = AdminClient(client_config(load_settings()))
    for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
        with contextlib.suppress(Exception):
            future.result(15)


# ---------------------------------------------------------------------- MongoDB visibility
class VisibilityPoller(threading.Thread):
    """Reads the room's documents every POLL_SECONDS and notes when each _id first shows.

    Only seqs above the highest seq seen without a gap are read, so each poll stays small;
    a gap (seqs may skip, documents may land out of seq order) only widens the read."""

    def __init__(self, collection: Any, room: str) -> None:
        super().__init__(name="visibility-poller", daemon=True)
        self._collection = collection
        self._room = room
        self._seen: dict[str, float] = {}
        self._seqs: set[int] = set()
        self._floor = 0  # every seq 1..floor has been seen
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.durations: list[float] = []  # seconds per poll

    def run(self) -> None:
        from pymongo.errors import PyMongoError

        while not self._stopping.is_set():
            started = time.monotonic()
            with contextlib.suppress(PyMongoError):  # a failed poll: the next one reads again
                self._poll_once()
            self.durations.append(time.monotonic() - started)
            self._stopping.wait(max(0.0, POLL_SECONDS - (time.monotonic() - started)))

    def _poll_once(self) -> None:
        query = {"roomId": self._room, "seq": {"$gt": self._floor}}
        docs = list(self._collection.find(query, {"_id": 1, "seq": 1}))
        now = time.time()
        with self._lock:
            for doc in docs:
                self._seen.setdefault(doc["_id"], now)
                self._seqs.add(int(doc["seq"]))
        while self._floor + 1 in self._seqs:
            self._floor += 1

    def first_seen(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seen)

    def wait_for(self, ids: list[str], timeout: float) -> set[str]:
        """Until every id has been seen or `timeout` passed: the ids still unseen."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                unseen = {i for i in ids if i not in self._seen}
            if not unseen or time.monotonic() >= deadline:
                return unseen
            time.sleep(0.05)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(10)


# ---------------------------------------------------------------------- clients
class Phone:
    """One real WebSocket connection that sends and waits for the acks."""

    def __init__(self, ws: Any, user: str) -> None:
        self.ws = ws
        self.user = user

    def send_all(self, room: str, count: int, label: str, in_flight: int = 1) -> list[Acked]:
        """`count` messages, `in_flight` at a time (a phone: 1), each group as fast as its
        acks come back."""
        ids = [f"{label}{i}-{uuid.uuid4().hex[:8]}" for i in range(count)]
        return [
            acked
            for i in range(0, count, in_flight)
            for acked in self.send_together(room, ids[i : i + in_flight])
        ]

    def send_together(self, room: str, client_msg_ids: list[str]) -> list[Acked]:
        sent_at = time.time()
        for client_msg_id in client_msg_ids:
            self.ws.send(send_message_frame(room, client_msg_id))
        return [
            Acked(self.user, cmid, ack["messageId"], int(ack["seq"]), sent_at, acked_at)
            for cmid, (ack, acked_at) in self._acks_for(client_msg_ids).items()
        ]

    def _acks_for(self, client_msg_ids: list[str]) -> dict[str, tuple[dict[str, Any], float]]:
        """Each id's ack and when it came (time.time()); other frames (the room's fan-out)
        are skipped, an error frame for one of the ids raises."""
        acks: dict[str, tuple[dict[str, Any], float]] = {}
        while len(acks) < len(client_msg_ids):
            frame = json.loads(self.ws.recv(timeout=60))
            client_msg_id = frame.get("clientMsgId")
            if client_msg_id not in client_msg_ids:
                continue
            if frame.get("type") == "ack":
                acks[client_msg_id] = (frame, time.time())
            elif frame.get("type") == "error":
                raise RuntimeError(f"{self.user}: {client_msg_id} refused: {frame}")
        return acks


def open_phones(url: str, users: list[str], closing: contextlib.ExitStack) -> list[Phone]:
    """Connect every user at once; `closing` closes the connections."""
    from websockets.sync.client import connect

    from mayachat_local.devtools.devauth import mint

    def dial(user: str) -> Any:
        # max_queue=None: the room's fan-out to this phone never stalls the gateway, even
        # after this phone has sent its last message and only waits for the others.
        return connect(f"{url}?token={mint(user)}", open_timeout=30, max_queue=None)

    with ThreadPoolExecutor(len(users)) as pool:
        connections = list(pool.map(dial, users))
    return [
        Phone(closing.enter_context(ws), user) for ws, user in zip(connections, users, strict=True)
    ]


def send_from_all(
    phones: list[Phone], room: str, count: int, label: str, in_flight: int = 1
) -> list[Acked]:
    """Every phone sends `count` messages at once, `in_flight` at a time."""
    with ThreadPoolExecutor(len(phones)) as pool:
        batches = pool.map(lambda p: p.send_all(room, count, label, in_flight), phones)
        return [acked for batch in batches for acked in batch]
