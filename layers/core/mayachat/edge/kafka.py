"""The Kafka edge: an `aws:kafka` event (MSK event-source mapping) in, a partial batch
response out. Powertools' BatchProcessor decodes the records and builds the
`batchItemFailures` (topic-partition + offset); this subclass hands the whole batch to one
call so the persist service can write it in bulk."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mayachat.edge.telemetry import publishes_metrics
from mayachat.persistence import IncomingRecord, Outcome

logger = Logger()

BatchHandler = Callable[[list[IncomingRecord]], list[Outcome]]


class RetryRecord(Exception):
    """Marks a record for redelivery (a transient failure while storing it)."""


class BulkKafkaProcessor(BatchProcessor):
    def __init__(self) -> None:
        super().__init__(event_type=EventType.Kafka, raise_on_entire_batch_failure=True)

    def process(self) -> list[tuple[Any, ...]]:
        records = [KafkaEventRecord(r) for r in self.records]
        outcomes = self.handler([_incoming(r) for r in records])
        results: list[tuple[Any, ...]] = []
        for record, outcome in zip(records, outcomes, strict=True):
            if outcome is Outcome.RETRY:
                try:
                    raise RetryRecord(f"{record.topic}-{record.partition}@{record.offset}")
                except RetryRecord:
                    results.append(self.failure_handler(record, sys.exc_info()))
            else:
                results.append(self.success_handler(record, outcome))
        return results


def _incoming(record: KafkaEventRecord) -> IncomingRecord:
    return IncomingRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.decoded_key,
        # AWS leaves `value` out of a tombstone's record: the service dead-letters it.
        value=record.decoded_value if record.get("value") else None,
        headers=record.decoded_headers,
    )


def kafka_batch_route(
    persist: BatchHandler,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    processor = BulkKafkaProcessor()

    @publishes_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        response = process_partial_response(
            event=event, record_handler=persist, processor=processor, context=context
        )
        failures = response.get("batchItemFailures", [])
        if failures:
            logger.warning("records to redeliver", extra={"count": len(failures)})
        return dict(response)

    return handler
