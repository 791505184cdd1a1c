"""The persist service's rules: decode, store in bulk, dead-letter poison, retry transients."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mayachat.model import Message, Receipt, ReceiptKind
from mayachat.persistence import IncomingRecord, Outcome, Persister
from mayachat.ports import StoreOutcome
from tests.fakes import FakeDeadLetters, FakeMetrics, FakeStore

MESSAGES, EVENTS = "chat-messages", "message-persistence"


def message(seq: int, room: str = "r1") -> Message:
    return Message(
        f"01JD{seq:022d}",
        room,
        seq,
        "alice",
        f"c{seq}",
        {"type": "text", "text": f"#{seq}"},
        "2026-11-26T12:00:00.000Z",
    )


def record(offset: int, value: bytes | None, topic: str = MESSAGES) -> IncomingRecord:
    return IncomingRecord(topic, 0, offset, b"r1", value, {})


def as_record(offset: int, m: Message) -> IncomingRecord:
    return record(offset, json.dumps(m.to_wire()).encode())


def announcing(offset: int, m: Message, stable: int) -> IncomingRecord:
    """A message record whose `stableSeq` header announces `stable`."""
    value = json.dumps(m.to_wire()).encode()
    return IncomingRecord(
        MESSAGES, 0, offset, m.room_id.encode(), value, {"stableSeq": b"%d" % stable}
    )


def persister() -> tuple[Persister, FakeStore, FakeDeadLetters]:
    store, dead = FakeStore(), FakeDeadLetters()
    return Persister(MESSAGES, EVENTS, store, dead, FakeMetrics()), store, dead


def test_a_batch_is_stored_in_one_bulk_call() -> None:
    service, store, _ = persister()
    outcomes = service.persist([as_record(i, message(i)) for i in range(1, 51)])
    assert outcomes == [Outcome.DONE] * 50
    assert store.calls == 1
    assert len(store.messages) == 50


def test_a_redelivered_batch_changes_nothing() -> None:
    service, store, _ = persister()
    batch = [as_record(i, message(i)) for i in range(1, 6)]
    for _ in range(3):
        assert service.persist(batch) == [Outcome.DONE] * 5
    assert len(store.messages) == 5


def test_poison_is_dead_lettered_with_its_reason_and_neighbours_are_stored() -> None:
    service, store, dead = persister()
    wire = message(3).to_wire()
    batch = [
        as_record(0, message(1)),
        record(1, b"{not json"),
        record(2, json.dumps({**wire, "seq": "three"}).encode()),
        record(3, None),
        as_record(4, message(2)),
    ]
    outcomes = service.persist(batch)
    assert outcomes == [
        Outcome.DONE,
        Outcome.DEAD_LETTERED,
        Outcome.DEAD_LETTERED,
        Outcome.DEAD_LETTERED,
        Outcome.DONE,
    ]
    assert [letter.offset for letter in dead.letters] == [1, 2, 3]
    assert "not JSON" in dead.letters[0].reason
    assert "seq" in dead.letters[1].reason
    assert dead.letters[0].value == b"{not json"
    assert len(store.messages) == 2


def test_a_seq_conflict_is_dead_lettered_never_dropped() -> None:
    service, _, dead = persister()
    service.persist([as_record(0, message(1))])
    impostor = Message(
        "01JDXXXXXXXXXXXXXXXXXXXXXX",
        "r1",
        1,
        "bob",
        "other",
        {"type": "text", "text": "?"},
        "2026-11-26T12:00:00.000Z",
    )
    assert service.persist([as_record(1, impostor)]) == [Outcome.DEAD_LETTERED]
    assert "seq 1 of room r1" in dead.letters[0].reason


def test_a_store_outage_retries_the_records_and_nothing_else() -> None:
    service, store, _ = persister()
    store.down = True
    outcomes = service.persist([as_record(0, message(1)), record(1, b"junk")])
    assert outcomes == [Outcome.RETRY, Outcome.DEAD_LETTERED]
    store.down = False
    assert service.persist([as_record(0, message(1))]) == [Outcome.DONE]


def test_poison_is_retried_while_the_dead_letter_destination_is_down() -> None:
    service, _, dead = persister()
    dead.down = True
    assert service.persist([record(0, b"junk")]) == [Outcome.RETRY]


def test_receipts_apply_forward_only_even_out_of_order() -> None:
    service, store, _ = persister()

    def receipt(seq: int, kind: ReceiptKind) -> IncomingRecord:
        r = Receipt("r1", "bob", kind, seq, at="2026-11-26T12:00:00.000Z")
        return record(seq, json.dumps(r.to_wire()).encode(), topic=EVENTS)

    outcomes = service.persist(
        [
            receipt(7, ReceiptKind.READ),
            receipt(3, ReceiptKind.READ),
            receipt(5, ReceiptKind.DELIVERED),
        ]
    )
    assert outcomes == [Outcome.DONE] * 3
    assert store.cursors[("r1", "bob")] == {"read": 7, "delivered": 5}


def test_a_record_on_an_unknown_topic_is_dead_lettered() -> None:
    service, _, dead = persister()
    assert service.persist([record(0, b"{}", topic="elsewhere")]) == [Outcome.DEAD_LETTERED]
    assert "no handler for topic elsewhere" in dead.letters[0].reason


def test_the_stable_seq_rises_to_what_stored_records_announce() -> None:
    service, store, _ = persister()
    stable_mark = IncomingRecord(
        MESSAGES,
        0,
        3,
        b"r2",
        b'{"type":"stable","roomId":"r2","stableSeq":7}',
        {"eventType": b"room.stable"},
    )
    batch = [announcing(1, message(1), 1), announcing(2, message(2), 1), stable_mark]
    assert service.persist(batch) == [Outcome.DONE] * 3
    assert store.stable == {"r1": 1, "r2": 7}


def test_a_record_to_retry_stops_its_room_stable_seq_there() -> None:
    service, store, _ = persister()
    store.messages[message(2).message_id] = message(2)  # stored earlier
    taken = message(3)
    store.messages["01JDother"] = Message("01JDother", "r1", 3, "bob", "x", {}, taken.created_at)
    batch = [announcing(1, message(1), 1), announcing(2, message(4), 3)]
    store_messages = store.store_messages

    def first_fails(messages: Sequence[Message]) -> list[StoreOutcome]:
        outcomes = store_messages(messages)
        return [StoreOutcome.FAILED, *outcomes[1:]]

    store.store_messages = first_fails  # type: ignore[method-assign]
    outcomes = service.persist(batch)
    assert outcomes == [Outcome.RETRY, Outcome.DONE]
    assert store.stable == {}  # seq 1 is not stored: nothing after it in r1 counts


def test_a_bad_stable_header_never_costs_the_message() -> None:
    service, store, dead = persister()
    outcomes = service.persist([announcing(1, message(1), 5)])  # beyond its own seq
    assert outcomes == [Outcome.DONE]
    assert list(store.messages) == [message(1).message_id]
    assert store.stable == {}
    assert dead.letters == []
