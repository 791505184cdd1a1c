"""One MSK event-source mapping: polls its topic in its consumer group, batches records,
invokes the function through the local Lambda runtime, and commits what succeeded.

Partitions are Lambda's unit of order: a partition is in at most one batch at a time, so its
records reach the function in order, and a batch being retried holds back only its own
partitions (the others keep flowing, as with several pollers in AWS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from functools import partial
from typing import Any

from confluent_kafka import KafkaException

from mayachat_local.esm.delivery import BatchInvoker, Invocation
from mayachat_local.esm.destinations import Destinations, Origin
from mayachat_local.esm.event import PAYLOAD_LIMIT, KafkaRecord, payload_size
from mayachat_local.esm.plan import Backoff, Records, take_batch
from mayachat_local.esm.source import KafkaSource, Polled
from mayachat_local.esm.spec import MappingSpec
from mayachat_local.runtime.lambda_runtime import LambdaRuntime

log = logging.getLogger("mayachat_local.esm")

_POLL_SECONDS = 0.1
_BUSY_POLL_SECONDS = 0.01
_HISTORY = 500


class LocalEventSourceMapping:
    def __init__(
        self,
        spec: MappingSpec,
        runtime: LambdaRuntime,
        consumer_config: Mapping[str, Any],
        admin_config: Mapping[str, Any],
        destinations: Destinations,
        origin: Origin,
        backoff: Backoff | None = None,
    ) -> None:
        self.spec = spec
        self.origin = origin
        self.last_event: dict[str, Any] | None = None
        self._history: list[Invocation] = []
        self._delivery = BatchInvoker(
            spec, runtime, destinations, origin, backoff or Backoff(), self._observe
        )
        config = {**consumer_config, "auto.offset.reset": spec.auto_offset_reset}
        self._source = KafkaSource(config, dict(admin_config), spec.topic, spec.name)
        self._assigned: set[int] = set()
        self._buffers: dict[int, deque[KafkaRecord]] = {}
        self._busy: set[int] = set()
        self._paused: set[int] = set()
        self._generation: dict[int, int] = {}
        self._window_started: float | None = None
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def history(self) -> list[Invocation]:
        """The latest invocations, oldest first (a copy: safe to read from any thread)."""
        return list(self._history)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self._source.open()
        self._runner = asyncio.create_task(self._run(), name=f"esm-{self.name}")
        log.info(
            "[%s] %s -> %s: group %s, batch %d, window %gs",
            self.name,
            self.spec.topic,
            self.spec.function,
            self.spec.group_id,
            self.spec.batch_size,
            self.spec.window,
        )

    async def stop(self) -> None:
        """Abandon in-flight batches like a crashed poller: their offsets stay uncommitted,
        so the group's next consumer gets them again."""
        self._stopping = True
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._source.close()

    async def wait_caught_up(self, timeout: float = 60.0) -> None:
        """Return once the group has committed every record the topic holds now."""
        deadline = time.monotonic() + timeout
        targets = await self._source.watermarks()
        while True:
            committed = await self._source.committed(sorted(targets))
            behind = {
                p: f"{max(committed.get(p, -1), low)}/{high}"
                for p, (low, high) in targets.items()
                if high > low and committed.get(p, -1) < high
            }
            if not behind:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.name}: group {self.spec.group_id} is behind on {self.spec.topic} "
                    f"(partition: committed/end) {behind}"
                )
            await asyncio.sleep(0.1)

    async def redeliver_last_batch(self, times: int = 1) -> list[Any]:
        """Invoke the function again with the last event, `times` times, as an at-least-once
        redelivery would; offsets are left alone. Each result is the handler's return value
        or its FunctionError. Meant for a mapping that is caught up."""
        if self.last_event is None:
            raise RuntimeError(f"{self.name}: nothing was delivered yet")
        return await self._delivery.redeliver(self.last_event, times)

    # ------------------------------------------------------------------ polling
    async def _run(self) -> None:
        while not self._stopping:
            try:
                polled = await self._source.poll(
                    max(self.spec.batch_size, 500), self._poll_timeout()
                )
                self._apply(polled)
                self._dispatch()
                await self._apply_backpressure()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("[%s] polling failed; retrying", self.name)
                await asyncio.sleep(1)

    def _poll_timeout(self) -> float:
        # Commits wait for the poll on the consumer's thread: poll briefly while batches run.
        longest = _BUSY_POLL_SECONDS if self._tasks else _POLL_SECONDS
        if self._window_started is None:
            return longest
        left = self._window_started + self.spec.window - time.monotonic()
        return max(_BUSY_POLL_SECONDS, min(longest, left))

    def _apply(self, polled: Polled) -> None:
        for kind, partitions in polled.rebalances:
            log.info("[%s] partitions %s: %s", self.name, kind, partitions or "none")
            for p in partitions:
                # A new generation: commits of batches from before are stale and skipped.
                self._generation[p] = self._generation.get(p, 0) + 1
                self._buffers[p] = deque()
                self._paused.discard(p)
                if kind == "assigned":
                    self._assigned.add(p)
                else:
                    self._assigned.discard(p)
        for record in polled.records:
            if record.partition in self._assigned:
                self._buffers[record.partition].append(record)

    def _dispatch(self) -> None:
        """Start batches from the idle partitions once BatchSize records (or 6 MB) are
        waiting, or the batching window has passed since records started waiting."""
        while not self._stopping:
            free = [p for p in sorted(self._assigned) if self._buffers[p] and p not in self._busy]
            if not free:
                self._window_started = None
                return
            now = time.monotonic()
            if self._window_started is None:
                self._window_started = now
            waiting = [r for p in free for r in self._buffers[p]]
            full = len(waiting) >= self.spec.batch_size or payload_size(waiting) >= PAYLOAD_LIMIT
            if not full and now - self._window_started < self.spec.window:
                return
            batch = take_batch(self._buffers, free, self.spec.batch_size)
            partitions = {r.partition for r in batch}
            self._busy |= partitions
            self._window_started = None
            task = asyncio.create_task(self._deliver(batch))
            self._tasks.add(task)
            task.add_done_callback(partial(self._finished, partitions=partitions))

    def _finished(self, task: asyncio.Task[None], partitions: set[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Never skip records: an internal error stalls these partitions, loudly.
            log.error(
                "[%s] partitions %s stalled by an internal error",
                self.name,
                sorted(partitions),
                exc_info=task.exception(),
            )
            return
        self._busy -= partitions
        self._dispatch()

    async def _apply_backpressure(self) -> None:
        """Pause partitions whose records pile up behind a slow or stalled batch."""
        high = max(2 * self.spec.batch_size, 500)
        pause = [p for p in self._assigned - self._paused if len(self._buffers[p]) >= high]
        resume = [p for p in self._paused if len(self._buffers[p]) < high // 2]
        if pause:
            log.debug("[%s] pausing partitions %s", self.name, pause)
            await self._source.pause(pause)
            self._paused |= set(pause)
        if resume:
            log.debug("[%s] resuming partitions %s", self.name, resume)
            await self._source.resume(resume)
            self._paused -= set(resume)

    async def _deliver(self, records: Records) -> None:
        generation = {p: self._generation.get(p, 0) for p in {r.partition for r in records}}
        await self._delivery.deliver(records, partial(self._commit, generation=generation))

    def _observe(self, invocation: Invocation, event: dict[str, Any]) -> None:
        self.last_event = event
        self._history.append(invocation)
        if len(self._history) > 2 * _HISTORY:
            self._history = self._history[-_HISTORY:]

    async def _commit(self, offsets: dict[int, int], generation: Mapping[int, int]) -> None:
        """Commit unless the partition was revoked (and maybe reassigned) since the batch began."""
        current = {p: o for p, o in offsets.items() if self._generation.get(p) == generation[p]}
        if not current:
            return
        try:
            await self._source.commit(current)
        except KafkaException as exc:
            # The next commit on the partition covers these offsets; a restart redelivers.
            log.warning("[%s] commit %s failed: %s", self.name, current, exc)
