"""The Kafka edge: an aws:kafka event through Powertools' batch processor to the service."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mayachat.edge.kafka import kafka_batch_route
from mayachat.persistence import IncomingRecord, Outcome
from tests.lambda_support import FakeLambdaContext as Context

EVENT = json.loads((Path(__file__).parents[1] / "fixtures/esm/msk_event.json").read_text())


def records_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for batch in event["records"].values() for r in batch]


def test_failures_are_reported_by_topic_partition_and_offset() -> None:
    seen: list[IncomingRecord] = []

    def persist(records: list[IncomingRecord]) -> list[Outcome]:
        seen.extend(records)
        return [Outcome.RETRY if i == 1 else Outcome.DONE for i in range(len(records))]

    response = kafka_batch_route(persist)(EVENT, Context("PersistFunction"))  # type: ignore[arg-type]
    second = records_of(EVENT)[1]
    assert response == {
        "batchItemFailures": [
            {
                "itemIdentifier": {
                    "partition": f"{second['topic']}-{second['partition']}",
                    "offset": second["offset"],
                }
            }
        ]
    }
    assert len(seen) == len(records_of(EVENT))
    assert seen[0].value is not None


def test_a_tombstone_reaches_the_service_as_an_empty_value() -> None:
    event = copy.deepcopy(EVENT)
    first = records_of(event)[0]
    del first["value"]  # AWS leaves it out for a null value
    values: list[bytes | None] = []

    def persist(records: list[IncomingRecord]) -> list[Outcome]:
        values.extend(r.value for r in records)
        return [Outcome.DEAD_LETTERED] + [Outcome.DONE] * (len(records) - 1)

    assert kafka_batch_route(persist)(event, Context("PersistFunction")) == {  # type: ignore[arg-type]
        "batchItemFailures": []
    }
    assert values[0] is None
