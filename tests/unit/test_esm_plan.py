"""The event-source mapping's decisions, without a broker: the event, batches, bisecting,
batch responses, commits, and what the on-failure destination receives."""

from __future__ import annotations

import base64
import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import KafkaMskEventModel

from mayachat_local.esm.destinations import Discard, Origin, batch_record, record_messages
from mayachat_local.esm.event import PAYLOAD_LIMIT, KafkaRecord, build_event, payload_size
from mayachat_local.esm.plan import (
    Backoff,
    Batch,
    Checkpoint,
    Failure,
    PartialFailure,
    Success,
    after_failure,
    after_partial_failure,
    bisect,
    interpret_response,
    split_expired,
    take_batch,
)
from mayachat_local.runtime.lambda_env import worker_environment
from mayachat_local.runtime.template import FunctionSpec

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "esm" / "msk_event.json"
ORIGIN = Origin(
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:Fn",
    source_arn="arn:aws:kafka:us-east-1:123456789012:cluster/c/abc-1",
    bootstrap_servers="b-1:9092,b-2:9092",
)


def rec(partition: int, offset: int, value: bytes | None = b"v", **kw: Any) -> KafkaRecord:
    return KafkaRecord(
        "t", partition, offset, kw.pop("timestamp", 1_700_000_000_000), value=value, **kw
    )


def records(*where: tuple[int, int]) -> tuple[KafkaRecord, ...]:
    return tuple(rec(p, o) for p, o in where)


# ------------------------------------------------------------------ the event
def test_the_saved_example_is_what_build_event_makes_and_powertools_parses() -> None:
    example = json.loads(EXAMPLE.read_text())
    kafka_records = [
        KafkaRecord(
            topic=r["topic"],
            partition=r["partition"],
            offset=r["offset"],
            timestamp=r["timestamp"],
            key=base64.b64decode(r["key"]),
            value=base64.b64decode(r["value"]),
            headers=tuple((k, bytes(v)) for h in r["headers"] for k, v in h.items()),
        )
        for rs in example["records"].values()
        for r in rs
    ]
    rebuilt = build_event(
        list(reversed(kafka_records)), example["eventSourceArn"], example["bootstrapServers"]
    )
    assert rebuilt == example
    parsed = KafkaMskEventModel.model_validate(example)
    first = parsed.records["chat-messages-0"][0]
    assert first.key == b"room-1"
    assert first.headers[0] == {"eventType": b"message.created"}
    assert json.loads(first.value)["seq"] == 1


def test_events_group_records_by_partition_in_offset_order() -> None:
    event = build_event(records((1, 5), (0, 2), (1, 4), (0, 1)), "arn", "b:9092")
    assert list(event["records"]) == ["t-0", "t-1"]
    assert [r["offset"] for r in event["records"]["t-0"]] == [1, 2]
    assert [r["offset"] for r in event["records"]["t-1"]] == [4, 5]
    KafkaMskEventModel.model_validate(event)


def test_a_null_key_or_value_is_left_out() -> None:
    (record,) = build_event([rec(0, 0, value=None)], "arn", "b")["records"]["t-0"]
    assert "key" not in record
    assert "value" not in record
    assert record["headers"] == []


def test_payload_size_bounds_the_events_json() -> None:
    batch = [rec(p, o, b"x" * 1000, headers=(("h", b"1"),)) for p in range(3) for o in range(5)]
    assert payload_size(batch) >= len(json.dumps(build_event(batch, "arn:" + "x" * 80, "b:9092")))


# ------------------------------------------------------------------ batches
def buffers(*partitions: list[KafkaRecord]) -> dict[int, deque[KafkaRecord]]:
    return {i: deque(rs) for i, rs in enumerate(partitions)}


def test_a_batch_takes_at_most_batch_size_records_in_partition_order() -> None:
    queues = buffers([rec(0, o) for o in range(4)], [rec(1, o) for o in range(4)])
    batch = take_batch(queues, [0, 1], batch_size=6)
    assert [(r.partition, r.offset) for r in batch] == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)
    ]  # fmt: skip
    assert [r.offset for r in queues[1]] == [2, 3]


def test_a_batch_stops_before_the_payload_limit() -> None:
    big = b"x" * (PAYLOAD_LIMIT // 4)  # base64 makes each a third of the limit and more
    queues = buffers([rec(0, o, big) for o in range(4)])
    first = take_batch(queues, [0], batch_size=100)
    assert len(first) == 2
    assert payload_size(first) <= PAYLOAD_LIMIT
    assert len(queues[0]) == 2


def test_a_record_over_the_limit_goes_alone() -> None:
    queues = buffers([rec(0, 0, b"x" * PAYLOAD_LIMIT), rec(0, 1)])
    assert [r.offset for r in take_batch(queues, [0], batch_size=10)] == [0]
    assert [r.offset for r in take_batch(queues, [0], batch_size=10)] == [1]


def test_bisect_keeps_each_partitions_earlier_records_first() -> None:
    first, second = bisect(records((0, 0), (0, 1), (0, 2), (1, 0), (1, 1)))
    assert [(r.partition, r.offset) for r in first] == [(0, 0), (0, 1), (0, 2)]
    assert [(r.partition, r.offset) for r in second] == [(1, 0), (1, 1)]


def test_after_a_failure_the_batch_is_retried_or_split_until_the_limit() -> None:
    batch = Batch(records((0, 0), (0, 1), (0, 2), (0, 3)))
    assert after_failure(batch, retry_limit=2, split=False) == [Batch(batch.records, 1)]
    halves = after_failure(batch, retry_limit=2, split=True)
    assert [(len(h.records), h.attempts) for h in halves] == [(2, 1), (2, 1)]
    single = Batch(records((0, 0)), attempts=1)
    assert after_failure(single, retry_limit=2, split=True) == [Batch(single.records, 2)]
    assert after_failure(Batch(single.records, 2), retry_limit=2, split=True) == []
    assert after_failure(Batch(single.records, 500), retry_limit=None, split=False)  # stalls


def test_after_a_partial_failure_only_the_rest_is_retried() -> None:
    batch = Batch(records((0, 0), (0, 1), (0, 2)), attempts=1)
    rest = records((0, 1), (0, 2))
    assert after_partial_failure(batch, rest, retry_limit=3) == [Batch(rest, 2)]
    assert after_partial_failure(batch, rest, retry_limit=1) == []


def test_records_past_the_maximum_age_are_split_off() -> None:
    now = 1_700_000_100_000
    old, young = rec(0, 0, timestamp=now - 61_000), rec(0, 1, timestamp=now - 59_000)
    assert split_expired((old, young), now, 60) == ((young,), (old,))
    assert split_expired((old, young), now, -1) == ((old, young), ())


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial=0.5, cap=3)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 3, 3]


# ------------------------------------------------------------------ the function's answer
BATCH = records((0, 4), (0, 5), (0, 6), (1, 9), (1, 10))


def failure(partition: str, offset: Any) -> dict[str, Any]:
    return {"itemIdentifier": {"partition": partition, "offset": offset}}


@pytest.mark.parametrize(
    "response", [None, "", {}, {"batchItemFailures": []}, {"batchItemFailures": None}]
)
def test_an_empty_or_null_response_is_a_success(response: Any) -> None:
    assert interpret_response(response, BATCH, report_item_failures=True) == Success()


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    response = {"batchItemFailures": [failure("t-0", 5)]}
    assert interpret_response(response, BATCH, report_item_failures=False) == Success()


def test_a_partial_failure_checkpoints_each_partition_at_its_lowest_failure() -> None:
    response = {"batchItemFailures": [failure("t-0", 6), failure("t-0", 5)]}
    verdict = interpret_response(response, BATCH, report_item_failures=True)
    assert isinstance(verdict, PartialFailure)
    assert [(r.partition, r.offset) for r in verdict.done] == [(0, 4), (1, 9), (1, 10)]
    assert [(r.partition, r.offset) for r in verdict.retry] == [(0, 5), (0, 6)]


def test_the_kafka_guides_topic_partition_key_is_understood() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": {"topic-partition": "t-1", "offset": 10}}]}
    verdict = interpret_response(response, BATCH, report_item_failures=True)
    assert isinstance(verdict, PartialFailure)
    assert [(r.partition, r.offset) for r in verdict.retry] == [(1, 10)]


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [failure("t-0", 99)]},  # not in the batch
        {"batchItemFailures": [failure("t-7", 4)]},
        {"batchItemFailures": [failure("t-0", True)]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"wrongKey": {"partition": "t-0", "offset": 4}}]},
        {"batchItemFailures": "t-0"},
        ["t-0"],
    ],
)
def test_a_malformed_response_fails_the_whole_batch(response: Any) -> None:
    assert isinstance(interpret_response(response, BATCH, report_item_failures=True), Failure)


# ------------------------------------------------------------------ commits
def test_commits_never_pass_a_record_that_is_not_done() -> None:
    batch = records((0, 0), (0, 1), (0, 2), (1, 7), (1, 8))
    checkpoint = Checkpoint(batch)
    # The second half finishes first: nothing on partition 0 may move yet.
    assert checkpoint.complete(records((0, 2), (1, 7), (1, 8))) == {1: 9}
    assert checkpoint.complete(records((0, 1))) == {}
    assert checkpoint.complete(records((0, 0))) == {0: 3}
    assert checkpoint.complete(records((0, 0))) == {}


# ------------------------------------------------------------------ the destination
def test_the_sqs_record_describes_the_batch_without_its_records() -> None:
    discard = Discard(
        records((0, 4), (0, 6), (1, 9)),
        "RetryAttemptsExhausted",
        invoke_count=3,
        request_id="req-1",
        function_error=True,
    )
    body = batch_record(discard, ORIGIN)
    assert body["requestContext"] == {
        "requestId": "req-1",
        "functionArn": ORIGIN.function_arn,
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 3,
    }
    assert body["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert body["version"] == "1.0"
    info = body["KafkaBatchInfo"]
    assert (info["batchSize"], info["eventSourceArn"], info["bootstrapServers"]) == (
        3,
        ORIGIN.source_arn,
        ORIGIN.bootstrap_servers,
    )
    assert info["payloadSize"] > 0
    assert info["recordsInfo"]["t-0"] == {
        "firstRecordOffset": "4",
        "firstRecordTimestamp": "2023-11-14T22:13:20.000Z",
        "lastRecordOffset": "6",
        "lastRecordTimestamp": "2023-11-14T22:13:20.000Z",
    }
    assert set(info["recordsInfo"]) == {"t-0", "t-1"}
    assert "payload" not in body


def test_the_kafka_destination_gets_one_message_per_record_with_the_record() -> None:
    old = rec(0, 4, key=b"room-1")
    discard = Discard((old,), "RecordAgeExceeded", invoke_count=0)
    ((key, value),) = record_messages(discard, ORIGIN)
    assert key == b"room-1"
    assert value["responseContext"] is None  # never invoked
    assert value["requestContext"]["condition"] == "RecordAgeExceeded"
    assert value["KafkaBatchInfo"]["batchSize"] == 1
    assert value["KafkaBatchInfo"]["recordInfo"] == {
        "offset": "4",
        "timestamp": "2023-11-14T22:13:20.000Z",
    }
    assert value["payload"] == build_event([old], ORIGIN.source_arn, ORIGIN.bootstrap_servers)


def test_a_worker_without_a_gateway_gets_no_management_endpoint() -> None:
    spec = FunctionSpec("Fn", "Fn", Path("/code"), "app.handler", 3, 128)
    assert "WEBSOCKET_MANAGEMENT_ENDPOINT" not in worker_environment(spec, base={})
