"""The local MSK event-source mapping against the real broker: batches, the event's shape,
per-partition order, and offsets committed only after the function succeeded."""

from __future__ import annotations

import base64
from pathlib import Path

from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel

from tests.integration.esm_support import (
    create_topics,
    eventually,
    produce,
    recorded_events,
    running,
    unique,
)

BASIC = "BasicFunction.Batches"  # BatchSize 10, a 2 s window


def test_a_batch_is_bounded_by_its_size_then_by_the_window(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic = unique("esm-size")
    create_topics(topic)
    produce(topic, [f"r{i}".encode() for i in range(25)])
    with running(BASIC, tmp_path, {"Topic": topic, "Group": unique("g")}) as esm:
        esm.wait_until_caught_up(timeout=30)
        mapping = esm.mapping(BASIC)
        assert [len(i.records) for i in mapping.history] == [10, 10, 5]
        # Fewer than BatchSize: what arrives within the window goes in one batch.
        produce(topic, [b"late-1", b"late-2", b"late-3"])
        esm.wait_until_caught_up(timeout=30)
        history = list(mapping.history)
    assert [len(i.records) for i in history] == [10, 10, 5, 3]
    assert [o for i in history for _, o in i.records] == list(range(28))
    assert {i.outcome for i in history} == {"success"}


def test_the_event_is_the_aws_kafka_event(kafka_brokers: str, tmp_path: Path) -> None:
    topic = unique("esm-shape")
    create_topics(topic)
    produce(topic, [b'{"n": 1}'], key=b"room-1", headers={"eventType": b"message.created"})
    produce(topic, [None], key=None)  # a tombstone without a key
    with running(BASIC, tmp_path, {"Topic": topic, "Group": unique("g")}) as esm:
        esm.wait_until_caught_up(timeout=30)
    (event,) = recorded_events(tmp_path)
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == "arn:aws:kafka:us-east-1:123456789012:cluster/esm-tests/abc-1"
    assert event["bootstrapServers"] == kafka_brokers
    first, tombstone = event["records"][f"{topic}-0"]
    assert first["key"] == base64.b64encode(b"room-1").decode()
    assert base64.b64decode(first["value"]) == b'{"n": 1}'
    assert first["headers"] == [{"eventType": list(b"message.created")}]
    assert first["timestampType"] == "CREATE_TIME"
    # AWS leaves a null key or value out of the record.
    assert "key" not in tombstone
    assert "value" not in tombstone
    # Powertools' model requires a value, so the tombstone is checked above, the rest here.
    event["records"][f"{topic}-0"] = [first]
    parsed = KafkaMskEventModel.model_validate(event)
    record = parsed.records[f"{topic}-0"][0]
    assert (record.topic, record.partition, record.offset) == (topic, 0, 0)
    assert record.key == b"room-1"
    assert record.headers == [{"eventType": b"message.created"}]


def test_records_of_three_partitions_keep_their_order(kafka_brokers: str, tmp_path: Path) -> None:
    topic = unique("esm-order")
    create_topics(topic, partitions=3)
    keys = [f"key-{n % 6}".encode() for n in range(60)]
    produced = produce(topic, [f"n{n}".encode() for n in range(60)], keys=keys)
    with running(BASIC, tmp_path, {"Topic": topic, "Group": unique("g")}) as esm:
        esm.wait_until_caught_up(timeout=30)
        # One record per partition, arriving together: one batch across the partitions.
        for partition in range(3):
            produced += produce(topic, [b"last"], partition=partition)
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(BASIC).history)
    delivered = [r for i in history for r in i.records]
    assert sorted(delivered) == sorted(produced)  # each exactly once
    for partition in range(3):
        offsets = [o for p, o in delivered if p == partition]
        assert offsets == sorted(offsets)
    assert {p for p, _ in history[-1].records} == {0, 1, 2}
    for event in recorded_events(tmp_path):
        assert list(event["records"]) == sorted(event["records"])
        for records in event["records"].values():
            offsets = [r["offset"] for r in records]
            assert offsets == sorted(offsets)


def test_offsets_are_committed_only_after_the_function_succeeded(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, group = unique("esm-commit"), unique("g")
    create_topics(topic)
    produce(topic, [b"a", b"b"])
    parameters = {"Topic": topic, "Group": group}
    with running(BASIC, tmp_path / "first", parameters, env={"HANG": "1"}) as esm:
        esm.wait_until_caught_up(timeout=30)
        produce(topic, [b"hang", b"c"])
        # The second batch is in the function when the mapping goes away.
        eventually(lambda: len(recorded_events(tmp_path / "first")) == 2, what="second batch")
        first = [i.records for i in esm.mapping(BASIC).history]
    with running(BASIC, tmp_path / "second", parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        second = [i.records for i in esm.mapping(BASIC).history]
    assert first == [((0, 0), (0, 1))]  # the hanging invocation never finished
    assert second == [((0, 2), (0, 3))]  # redelivered; the committed batch was not
