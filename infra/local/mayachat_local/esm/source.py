"""The mapping's consumer: one confluent-kafka consumer in the mapping's group, driven from
asyncio. Every consumer call runs on the source's own single thread, in order, so librdkafka's
consumer is never used from two threads at once. Offsets the caller only reads (the topic's
end, the group's commits) come from an admin client: on the consumer's own connection they
would queue behind its long-polling fetch (half a second each)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from mayachat_local.esm.event import KafkaRecord

log = logging.getLogger("mayachat_local.esm")

T = TypeVar("T")
_TIMEOUT = 10.0
# The stubs leave OffsetSpec's factories untyped.
_FIRST_AND_END = (OffsetSpec.earliest(), OffsetSpec.latest())  # type: ignore[no-untyped-call]


@dataclass
class Polled:
    """What one poll brought: rebalances first, in order, then records."""

    rebalances: list[tuple[str, list[int]]] = field(default_factory=list)
    records: list[KafkaRecord] = field(default_factory=list)


class KafkaSource:
    def __init__(
        self, config: dict[str, Any], admin_config: dict[str, Any], topic: str, name: str
    ) -> None:
        self.topic = topic
        self._config = config
        self._group = str(config["group.id"])
        self._admin = AdminClient(admin_config)
        self._name = name
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"esm-{name}")
        self._consumer: Consumer | None = None
        self._rebalances: list[tuple[str, list[int]]] = []

    async def open(self) -> None:
        await self._call(self._open)

    async def poll(self, max_records: int, timeout: float) -> Polled:
        return await self._call(self._poll, max_records, timeout)

    async def commit(self, offsets: dict[int, int]) -> None:
        """Commit the next offset to read, per partition; raises KafkaException."""
        await self._call(self._commit, offsets)

    async def pause(self, partitions: list[int]) -> None:
        await self._call(self._consumer_call, "pause", partitions)

    async def resume(self, partitions: list[int]) -> None:
        await self._call(self._consumer_call, "resume", partitions)

    async def watermarks(self) -> dict[int, tuple[int, int]]:
        """(first, end) offsets per partition of the topic; the end as a read_committed
        consumer sees it."""
        metadata = await asyncio.to_thread(self._admin.list_topics, self.topic, timeout=_TIMEOUT)
        topic = metadata.topics[self.topic]
        if topic.error is not None:
            raise KafkaException(topic.error)
        ends: dict[int, list[int]] = {}
        for spec in _FIRST_AND_END:
            futures = self._admin.list_offsets(
                {TopicPartition(self.topic, p): spec for p in topic.partitions},
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=_TIMEOUT,
            )
            for tp, future in futures.items():
                ends.setdefault(tp.partition, []).append((await asyncio.wrap_future(future)).offset)
        return {p: (low, high) for p, (low, high) in sorted(ends.items())}

    async def committed(self, partitions: list[int]) -> dict[int, int]:
        """The group's committed offset per partition (negative: none)."""
        request = ConsumerGroupTopicPartitions(
            self._group, [TopicPartition(self.topic, p) for p in partitions]
        )
        futures = self._admin.list_consumer_group_offsets([request], request_timeout=_TIMEOUT)
        result = await asyncio.wrap_future(futures[self._group])
        return {tp.partition: tp.offset for tp in result.topic_partitions or []}

    async def close(self) -> None:
        """Leave the group without committing anything more."""
        try:
            await self._call(self._close)
        finally:
            self._executor.shutdown(wait=False)

    # ------------------------------------------------------------------ on the thread
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def _open(self) -> None:
        self._consumer = Consumer(self._config)
        self._consumer.subscribe(
            [self.topic],
            on_assign=self._rebalanced("assigned"),
            on_revoke=self._rebalanced("revoked"),
            on_lost=self._rebalanced("revoked"),
        )

    def _rebalanced(self, kind: str) -> Callable[[Consumer, list[TopicPartition]], None]:
        def callback(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            # Runs inside consume(), on this thread: handed to the loop with the records.
            self._rebalances.append((kind, sorted(tp.partition for tp in partitions)))

        return callback

    def _poll(self, max_records: int, timeout: float) -> Polled:
        consumer = self._require()
        messages = consumer.consume(max_records, timeout)
        polled = Polled(rebalances=self._rebalances)
        self._rebalances = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                log.warning("[%s] consumer: %s", self._name, error)
                continue
            polled.records.append(KafkaRecord.from_message(msg))
        return polled

    def _commit(self, offsets: dict[int, int]) -> None:
        tps = [TopicPartition(self.topic, p, o) for p, o in sorted(offsets.items())]
        for tp in self._require().commit(offsets=tps, asynchronous=False) or []:
            if tp.error is not None:
                raise KafkaException(tp.error)

    def _consumer_call(self, method: str, partitions: list[int]) -> None:
        getattr(self._require(), method)([TopicPartition(self.topic, p) for p in partitions])

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def _require(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError(f"{self._name}: the consumer is not open")
        return self._consumer
