"""The on-failure destination: what Lambda sends there for records it discards, and sending it.

Shapes follow the Lambda developer guide ("Capturing discarded batches for Amazon MSK ..." and
"Using a Kafka topic as an on-failure destination"):
- SQS: one invocation record per discarded batch, with the batch's metadata only
  (`KafkaBatchInfo.recordsInfo`: first/last offset and timestamp per "topic-partition");
- Kafka: one message per discarded record, keyed like the original, whose value is the
  invocation record for that record (`KafkaBatchInfo.recordInfo`) plus `payload`: an
  `aws:kafka` event holding the record itself.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, Message, Producer

from mayachat_local.esm.event import KafkaRecord, build_event
from mayachat_local.esm.spec import Destination

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
MAXIMUM_PAYLOAD_SIZE_EXCEEDED = "MaximumPayloadSizeExceeded"


class DestinationError(Exception):
    """The destination did not take the records; they stay uncommitted."""


@dataclass(frozen=True)
class Discard:
    """Records Lambda gives up on, and why."""

    records: tuple[KafkaRecord, ...]
    condition: str
    invoke_count: int  # approximateInvokeCount: invocations these records had
    request_id: str | None = None  # the last invocation's, if there was one
    function_error: bool = False  # the last invocation raised or timed out


@dataclass(frozen=True)
class Origin:
    """What every invocation record says about the mapping."""

    function_arn: str
    source_arn: str
    bootstrap_servers: str


def _iso(millis: int | float) -> str:
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(discard: Discard, origin: Origin, batch_info: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] | None = None
    if discard.request_id is not None:
        response = {"statusCode": 200, "executedVersion": "$LATEST"}
        if discard.function_error:
            response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": discard.request_id or str(uuid.uuid4()),
            "functionArn": origin.function_arn,
            "condition": discard.condition,
            "approximateInvokeCount": discard.invoke_count,
        },
        # null when the records never reached the function (too old, too large)
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(datetime.now(UTC).timestamp() * 1000),
        "KafkaBatchInfo": {
            "eventSourceArn": origin.source_arn,
            "bootstrapServers": origin.bootstrap_servers,
            **batch_info,
        },
    }


def batch_record(discard: Discard, origin: Origin) -> dict[str, Any]:
    """The SQS (and SNS) invocation record: metadata of the whole discarded batch."""
    info: dict[str, dict[str, str]] = {}
    for record in sorted(discard.records, key=lambda r: (r.partition, r.offset)):
        entry = info.setdefault(
            record.partition_key,
            {
                "firstRecordOffset": str(record.offset),
                "firstRecordTimestamp": _iso(record.timestamp),
            },
        )
        entry["lastRecordOffset"] = str(record.offset)
        entry["lastRecordTimestamp"] = _iso(record.timestamp)
    event = build_event(discard.records, origin.source_arn, origin.bootstrap_servers)
    return _envelope(
        discard,
        origin,
        {
            "batchSize": len(discard.records),
            "payloadSize": len(json.dumps(event)),
            "recordsInfo": info,
        },
    )


def record_messages(discard: Discard, origin: Origin) -> list[tuple[bytes | None, dict[str, Any]]]:
    """The Kafka destination's messages: (key, value) per record, the record inside."""
    messages = []
    for record in discard.records:
        event = build_event([record], origin.source_arn, origin.bootstrap_servers)
        value = _envelope(
            discard,
            origin,
            {
                "batchSize": 1,
                "payloadSize": len(json.dumps(event)),
                "recordInfo": {"offset": str(record.offset), "timestamp": _iso(record.timestamp)},
            },
        )
        value["payload"] = event
        messages.append((record.key, value))
    return messages


class Destinations:
    """Sends discards: a producer on the source cluster for kafka://, boto3 for SQS (it
    reaches moto or LocalStack through AWS_ENDPOINT_URL). Clients are made on first use."""

    def __init__(self, producer_config: dict[str, Any], origin_region: str) -> None:
        self._producer_config = producer_config
        self._region = origin_region
        self._producer: Producer | None = None
        self._sqs: dict[str, SQSClient] = {}
        self._queue_urls: dict[tuple[str, str], str] = {}

    async def send(self, destination: Destination, discard: Discard, origin: Origin) -> None:
        try:
            if destination.kafka_topic is not None:
                messages = record_messages(discard, origin)
                await asyncio.to_thread(self._produce, destination.kafka_topic, messages)
            else:
                await asyncio.to_thread(self._send_sqs, destination, batch_record(discard, origin))
        except DestinationError:
            raise
        except Exception as exc:  # boto3 and librdkafka raise many kinds: all mean "not sent"
            raise DestinationError(f"{destination.uri}: {exc}") from exc

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(5)

    def _produce(self, topic: str, messages: Sequence[tuple[bytes | None, dict[str, Any]]]) -> None:
        if self._producer is None:
            # librdkafka gives up on a record before we stop waiting for it (no late duplicate).
            self._producer = Producer({**self._producer_config, "delivery.timeout.ms": 10_000})
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _msg: Message) -> None:
            if error is not None:
                errors.append(error)

        for key, value in messages:
            self._producer.produce(
                topic, key=key, value=json.dumps(value).encode(), on_delivery=delivered
            )
        left = self._producer.flush(15)
        if errors or left:
            raise DestinationError(f"kafka://{topic}: {errors[0] if errors else 'not delivered'}")

    def _send_sqs(self, destination: Destination, body: dict[str, Any]) -> None:
        import boto3

        region, _account, name = destination.sqs_queue or (self._region, "", "")
        client = self._sqs.get(region)
        if client is None:
            client = self._sqs[region] = boto3.client("sqs", region_name=region)
        url = self._queue_urls.get((region, name))
        if url is None:
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
            self._queue_urls[(region, name)] = url
        client.send_message(QueueUrl=url, MessageBody=json.dumps(body))
