"""The local MSK event-source mapping when the function fails: retries, bisecting, partial
batch responses, timeouts, record age, and the kafka:// and SQS on-failure destinations."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import boto3

from tests.integration.esm_support import (
    create_topics,
    eventually,
    produce,
    read_topic,
    running,
    unique,
)

BASIC = "BasicFunction.Batches"  # Lambda's defaults: infinite retries, no destination
RETRY = "RetryFunction.Failures"  # 2 retries, bisect, partial responses, 60 s record age
SLOW = "SlowFunction.Timeouts"  # 1 s timeout, no retries


def fresh(prefix: str, partitions: int = 1) -> tuple[str, str, dict[str, str]]:
    """A source topic and a destination topic, and the template parameters naming them."""
    topic, failures = unique(prefix), unique(f"{prefix}-failed")
    create_topics(topic, partitions=partitions)
    create_topics(failures)
    parameters = {"Topic": topic, "Group": unique("g"), "FailureDestination": f"kafka://{failures}"}
    return topic, failures, parameters


def outcomes(history: Any) -> list[tuple[tuple[tuple[int, int], ...], str]]:
    return [(i.records, i.outcome) for i in history]


def test_failing_records_are_retried_then_sent_to_the_kafka_destination(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, failures, parameters = fresh("esm-retry")
    produce(topic, [b"ok-0", b"fail-1", b"ok-2"], key=b"k")
    with running(RETRY, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(RETRY).history)
    # Bisected on error, each half on its own; a split is a retry, so offset 1 is tried
    # 1 + MaximumRetryAttempts (2) times before it is given up.
    assert outcomes(history) == [
        (((0, 0), (0, 1), (0, 2)), "failure"),
        (((0, 0), (0, 1)), "failure"),
        (((0, 0),), "success"),
        (((0, 1),), "failure"),
        (((0, 2),), "success"),
    ]
    (msg,) = read_topic(failures, 1)
    assert msg.key() == b"k"  # the original record's key
    record = json.loads(msg.value() or b"")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == history[3].request_id
    assert record["requestContext"]["functionArn"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:RetryFunction"
    )
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = record["KafkaBatchInfo"]
    assert info["batchSize"] == 1
    assert info["bootstrapServers"] == kafka_brokers
    assert info["recordInfo"]["offset"] == "1"
    (failed,) = record["payload"]["records"][f"{topic}-0"]
    assert base64.b64decode(failed["value"]) == b"fail-1"
    assert record["payload"]["eventSource"] == "aws:kafka"


def test_an_sqs_destination_gets_the_batch_metadata(
    kafka_brokers: str, aws_endpoint: str, tmp_path: Path
) -> None:
    topic = unique("esm-sqs")
    create_topics(topic)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = unique("esm-dlq")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    parameters = {
        "Topic": topic,
        "Group": unique("g"),
        "FailureDestination": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
    }
    produce(topic, [b"fail-0"])
    with running(RETRY, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    (body,) = [json.loads(m["Body"]) for m in received]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["version"] == "1.0"
    info = body["KafkaBatchInfo"]
    assert info["batchSize"] == 1
    assert info["eventSourceArn"].startswith("arn:aws:kafka:us-east-1:123456789012:cluster/")
    partition = info["recordsInfo"][f"{topic}-0"]
    assert (partition["firstRecordOffset"], partition["lastRecordOffset"]) == ("0", "0")
    assert partition["firstRecordTimestamp"].endswith("Z")
    assert "payload" not in body  # SQS and SNS get metadata only


def test_a_partial_batch_response_retries_from_the_failed_record(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, _, parameters = fresh("esm-partial", partitions=2)
    produce(topic, [b"ok", b"ok", b"partial", b"ok"], partition=0)
    produce(topic, [b"ok", b"ok"], partition=1)
    with running(RETRY, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(RETRY).history)
    assert outcomes(history) == [
        (((0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)), "partial"),
        # Checkpointed at the failed record: partition 0 resumes there, partition 1 is done.
        (((0, 2), (0, 3)), "success"),
    ]


def test_a_malformed_batch_response_fails_the_whole_batch(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, failures, parameters = fresh("esm-malformed")
    produce(topic, [b"ok", b"malformed"])
    with running(RETRY, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(RETRY).history)
    assert history[0].outcome == "failure"
    assert "invalid batch item failure" in history[0].detail
    (msg,) = read_topic(failures, 1)
    assert json.loads(msg.value() or b"")["KafkaBatchInfo"]["recordInfo"]["offset"] == "1"


def test_a_timeout_is_a_function_error(kafka_brokers: str, tmp_path: Path) -> None:
    topic, failures, parameters = fresh("esm-timeout")
    produce(topic, [b"sleep"])
    with running(SLOW, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        produce(topic, [b"after"])  # a fresh worker serves the next batch
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(SLOW).history)
    assert outcomes(history) == [(((0, 0),), "timeout"), (((0, 1),), "success")]
    assert history[0].detail == "Sandbox.Timedout"
    (msg,) = read_topic(failures, 1)
    record = json.loads(msg.value() or b"")
    assert record["requestContext"]["approximateInvokeCount"] == 1  # MaximumRetryAttempts: 0
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_records_older_than_the_maximum_age_skip_the_function(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, failures, parameters = fresh("esm-age")
    produce(topic, [b"old"], timestamp_ms=int(time.time() * 1000) - 2 * 3600 * 1000)
    produce(topic, [b"new"])
    with running(RETRY, tmp_path, parameters) as esm:
        esm.wait_until_caught_up(timeout=30)
        history = list(esm.mapping(RETRY).history)
    assert outcomes(history) == [(((0, 1),), "success")]
    (msg,) = read_topic(failures, 1)
    record = json.loads(msg.value() or b"")
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["responseContext"] is None  # it never reached the function


def test_without_a_destination_a_failing_batch_stalls_only_its_partition(
    kafka_brokers: str, tmp_path: Path
) -> None:
    topic, _, parameters = fresh("esm-stall", partitions=2)
    behind = [b"blocked"] + [f"p0-{n}".encode() for n in range(1, 1200)]
    produce(topic, behind, partition=0)
    produce(topic, [b"p1-0", b"p1-1"], partition=1)
    with running(BASIC, tmp_path, parameters) as esm:
        mapping = esm.mapping(BASIC)
        # Partition 0 is retried over and over; partition 1 flows past it.
        eventually(
            lambda: (
                sum(i.records[0] == (0, 0) for i in mapping.history) >= 3
                and any(i.records == ((1, 0), (1, 1)) for i in mapping.history)
            ),
            what="partition 0 retried while partition 1 was delivered",
        )
        assert all(i.outcome == "failure" for i in mapping.history if i.records[0][0] == 0)
        (tmp_path / "unblocked").touch()  # the cause goes away: the partition moves on
        esm.wait_until_caught_up(timeout=60)
        history = list(mapping.history)
    delivered = [o for i in history if i.outcome == "success" for p, o in i.records if p == 0]
    assert delivered == list(range(1200))  # in order, nothing skipped or repeated
