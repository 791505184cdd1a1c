"""What the services measure (mayachat.metrics), and how the EMF adapter publishes it."""

from __future__ import annotations

import json

import pytest

from mayachat.adapters.emf_metrics import EmfMetrics
from mayachat.errors import ChatError
from mayachat.metrics import Count, Timing
from mayachat.model import Caller, Message
from mayachat.persistence import IncomingRecord, Persister
from tests.fakes import FakeDeadLetters, FakeMetrics, FakeStore, World

ALICE = Caller("alice", "c-alice")
BOB = Caller("bob", "c-bob")
CAROL = Caller("carol", "c-carol")
TEXT = {"type": "text", "text": "hello"}


@pytest.fixture
def world() -> World:
    w = World(rooms_by_id={"r1": {"alice", "bob", "carol"}})
    for caller in (ALICE, BOB, CAROL):
        w.registry.register(caller.connection_id, caller.user_id)
    return w


def test_a_send_counts_the_message_and_times_the_ack_and_its_kafka_part(world: World) -> None:
    world.messaging.send(ALICE, "r1", "m-1", TEXT)
    assert world.metrics.counts[Count.MESSAGES_SENT] == 1
    assert world.metrics.counts[Count.DELIVERY_POSTS] == 2  # bob and carol
    [ack] = world.metrics.timings[Timing.ACK_LATENCY]
    [kafka] = world.metrics.timings[Timing.KAFKA_APPEND_LATENCY]
    assert 0 <= kafka <= ack

    world.messaging.send(ALICE, "r1", "m-1", TEXT)  # a resend: answered, not a new message
    assert world.metrics.counts[Count.MESSAGES_SENT] == 1


def test_posts_to_gone_and_refusing_connections_are_counted_apart(world: World) -> None:
    world.gateway.gone.add(BOB.connection_id)
    world.gateway.refusing.add(CAROL.connection_id)
    world.messaging.send(ALICE, "r1", "m-1", TEXT)
    assert world.metrics.counts[Count.DELIVERY_POSTS] == 2
    assert world.metrics.counts[Count.DELIVERY_GONE] == 1
    assert world.metrics.counts[Count.DELIVERY_FAILED] == 1
    assert world.metrics.counts[Count.MESSAGES_SENT] == 1  # acked all the same


def test_refused_frames_and_a_closed_flood_are_counted(world: World) -> None:
    for _ in range(world.limits.connection_frames.burst):
        world.frame_gate.admit(ALICE, lambda: None)
    closed = False
    for _ in range(world.limits.close_after_refusals):
        with pytest.raises(ChatError) as refused:
            world.frame_gate.admit(ALICE, lambda: None)
        closed = closed or refused.value.closes
    assert closed
    assert world.metrics.counts[Count.RATE_LIMITED] == world.limits.close_after_refusals
    assert world.metrics.counts[Count.FLOODS_CLOSED] == 1


def test_a_refused_handshake_is_counted(world: World) -> None:
    for i in range(world.limits.max_connections):
        world.connections.connect(Caller("dave", f"c-dave-{i}"))
    with pytest.raises(ChatError):
        world.connections.connect(Caller("dave", "c-dave-extra"))
    assert world.metrics.counts[Count.CONNECTS_REFUSED] == 1


def _record(offset: int, value: bytes) -> IncomingRecord:
    return IncomingRecord("chat-messages", 0, offset, b"r1", value, {})


def test_persist_counts_stored_duplicate_and_dead_lettered_records_and_times_the_lag() -> None:
    metrics = FakeMetrics()
    service = Persister(
        "chat-messages", "message-persistence", FakeStore(), FakeDeadLetters(), metrics
    )
    message = Message(f"01JD{1:022d}", "r1", 1, "alice", "c1", TEXT, "2026-12-02T10:00:00.000Z")
    value = json.dumps(message.to_wire()).encode()
    service.persist([_record(0, value), _record(1, value), _record(2, b"not json")])
    assert metrics.counts[Count.MESSAGES_PERSISTED] == 1
    assert metrics.counts[Count.DUPLICATES_SKIPPED] == 1  # the same message twice in a batch
    assert metrics.counts[Count.DEAD_LETTERED] == 1
    [lag] = metrics.timings[Timing.STORED_LAG]
    assert lag > 0  # stamped in the past, stored now


def test_emf_sums_counts_keeps_every_timing_and_names_service_and_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = EmfMetrics("MayaChatTest", "mayachat", "prod")
    metrics.count(Count.DELIVERY_POSTS, 3)
    metrics.count(Count.DELIVERY_POSTS, 2)
    metrics.timing(Timing.ACK_LATENCY, 12.5)
    metrics.timing(Timing.ACK_LATENCY, 7.25)
    metrics.flush()
    [line] = capsys.readouterr().out.splitlines()
    emf = json.loads(line)
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MayaChatTest"
    assert sorted(directive["Dimensions"][0]) == ["service", "stage"]
    assert (emf["service"], emf["stage"]) == ("mayachat", "prod")
    assert emf["DeliveryPosts"] == [5.0]
    assert emf["AckLatency"] == [12.5, 7.25]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"DeliveryPosts": "Count", "AckLatency": "Milliseconds"}

    metrics.flush()  # nothing new: nothing printed (and no Powertools warning)
    assert capsys.readouterr().out == ""
