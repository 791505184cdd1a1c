"""Dead-letter destinations for records the persist function can never store: a Kafka topic
(the default) or an SQS queue. Either way the record keeps its bytes, its origin
(topic/partition/offset) and the reason, so it can be inspected and replayed."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from mayachat.ports import DeadLetter, EventLog, LogRecord

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def _origin(letter: DeadLetter) -> dict[str, str]:
    return {
        "reason": letter.reason[:1000],
        "sourceTopic": letter.topic,
        "sourcePartition": str(letter.partition),
        "sourceOffset": str(letter.offset),
    }


class KafkaDeadLetters:
    def __init__(self, log: EventLog, topic: str) -> None:
        self._log = log
        self._topic = topic

    def send(self, letter: DeadLetter) -> None:
        self._log.append(
            LogRecord(
                self._topic,
                letter.key,
                letter.value or b"",
                {"eventType": "dead-letter", **_origin(letter)},
            )
        )


class SqsDeadLetters:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def send(self, letter: DeadLetter) -> None:
        attributes: dict[str, dict[str, str | bytes]] = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in _origin(letter).items()
        }
        if letter.key is not None:
            attributes["key"] = {"DataType": "Binary", "BinaryValue": letter.key}
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            # SQS bodies are text; the value's bytes survive base64.
            MessageBody=base64.b64encode(letter.value or b"").decode() or "(empty)",
            MessageAttributes=attributes,  # type: ignore[arg-type]
        )
