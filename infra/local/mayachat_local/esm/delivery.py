"""Delivering one batch to the function until each record succeeded or was discarded:
retries, bisecting, partial batch responses, record age, the on-failure destination, and a
commit each time more of the batch is done."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mayachat_local.esm.destinations import (
    MAXIMUM_PAYLOAD_SIZE_EXCEEDED,
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    DestinationError,
    Destinations,
    Discard,
    Origin,
)
from mayachat_local.esm.event import PAYLOAD_LIMIT, KafkaRecord, build_event, payload_size
from mayachat_local.esm.plan import (
    Backoff,
    Batch,
    Checkpoint,
    Failure,
    PartialFailure,
    Records,
    Success,
    Verdict,
    after_failure,
    after_partial_failure,
    interpret_response,
    split_expired,
)
from mayachat_local.esm.spec import MappingSpec
from mayachat_local.runtime.lambda_runtime import FunctionError, LambdaRuntime

log = logging.getLogger("mayachat_local.esm")

Commit = Callable[[dict[int, int]], Awaitable[None]]


@dataclass(frozen=True)
class Invocation:
    """One invocation, as the mapping saw it (the latest are kept in its `history`)."""

    request_id: str
    records: tuple[tuple[int, int], ...]  # (partition, offset), in event order
    attempt: int  # 1 = first delivery of these records
    outcome: str  # success | partial | failure | timeout | redelivered
    detail: str  # the error type, or why a response was refused
    duration_ms: float


class BatchInvoker:
    def __init__(
        self,
        spec: MappingSpec,
        runtime: LambdaRuntime,
        destinations: Destinations,
        origin: Origin,
        backoff: Backoff,
        observe: Callable[[Invocation, dict[str, Any]], None],
    ) -> None:
        """`observe` hears of every invocation, with its event."""
        self.spec = spec
        self._runtime = runtime
        self._destinations = destinations
        self._origin = origin
        self._backoff = backoff
        self._observe = observe

    async def deliver(self, records: Records, commit: Commit) -> None:
        checkpoint = Checkpoint(records)
        pending = deque([Batch(records)])
        last: Invocation | None = None
        while pending:
            batch = pending.popleft()
            fresh, expired = split_expired(batch.records, _now_ms(), self.spec.max_record_age)
            if expired:
                await self._discard(expired, RECORD_AGE_EXCEEDED, batch.attempts, last)
                await commit(checkpoint.complete(expired))
            if not fresh:
                continue
            batch = Batch(fresh, batch.attempts)
            if len(fresh) == 1 and payload_size(fresh) > PAYLOAD_LIMIT:
                await self._discard(fresh, MAXIMUM_PAYLOAD_SIZE_EXCEEDED, 0, None)
                await commit(checkpoint.complete(fresh))
                continue
            if batch.attempts:
                await asyncio.sleep(self._backoff.delay(batch.attempts))
            last, verdict = await self._invoke(batch)
            if isinstance(verdict, Success):
                await commit(checkpoint.complete(fresh))
                continue
            if isinstance(verdict, PartialFailure):
                await commit(checkpoint.complete(verdict.done))
                failed = verdict.retry
                following = after_partial_failure(batch, failed, self.spec.retry_limit)
            else:
                failed = fresh
                following = after_failure(batch, self.spec.retry_limit, self.spec.bisect)
            if following:
                pending.extendleft(reversed(following))
            else:
                await self._discard(failed, RETRY_ATTEMPTS_EXHAUSTED, last.attempt, last)
                await commit(checkpoint.complete(failed))

    async def redeliver(self, event: dict[str, Any], times: int) -> list[Any]:
        """Invoke with `event` again, `times` times: return values or FunctionErrors."""
        records = tuple(
            (int(r["partition"]), int(r["offset"])) for rs in event["records"].values() for r in rs
        )
        results: list[Any] = []
        for _ in range(times):
            request_id = str(uuid.uuid4())
            started = time.monotonic()
            detail = ""
            try:
                results.append(
                    await self._runtime.invoke(self.spec.function, event, request_id=request_id)
                )
            except FunctionError as exc:
                results.append(exc)
                detail = exc.error_type
            invocation = Invocation(request_id, records, 0, "redelivered", detail, _ms(started))
            self._seen(invocation, event)
        return results

    async def _invoke(self, batch: Batch) -> tuple[Invocation, Verdict]:
        event = build_event(batch.records, self._origin.source_arn, self._origin.bootstrap_servers)
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        verdict: Verdict
        try:
            response = await self._runtime.invoke(self.spec.function, event, request_id=request_id)
        except FunctionError as exc:
            verdict = Failure(exc.error_type)
            outcome = "timeout" if exc.timed_out else "failure"
        else:
            verdict = interpret_response(response, batch.records, self.spec.report_item_failures)
            outcome = {Success: "success", PartialFailure: "partial", Failure: "failure"}[
                type(verdict)
            ]
        detail = verdict.reason if isinstance(verdict, Failure) else ""
        if isinstance(verdict, PartialFailure):
            detail = f"{len(verdict.retry)} to retry"
        invocation = Invocation(
            request_id,
            tuple((r.partition, r.offset) for r in sorted(batch.records, key=_order)),
            batch.attempts + 1,
            outcome,
            detail,
            _ms(started),
        )
        self._seen(invocation, event)
        return invocation, verdict

    def _seen(self, invocation: Invocation, event: dict[str, Any]) -> None:
        partitions = sorted({p for p, _ in invocation.records})
        log.info(
            "[%s] invoke %s topic=%s partitions=%s records=%d outcome=%s%s attempt=%d "
            "duration=%.0fms",
            self.spec.name,
            self.spec.function,
            self.spec.topic,
            ",".join(map(str, partitions)),
            len(invocation.records),
            invocation.outcome,
            f" ({invocation.detail})" if invocation.detail else "",
            invocation.attempt,
            invocation.duration_ms,
        )
        self._observe(invocation, event)

    async def _discard(
        self, records: Records, condition: str, invoke_count: int, last: Invocation | None
    ) -> None:
        """Hand discarded records to the destination; retried until it takes them, since
        committing past records that went nowhere would lose them."""
        name, destination = self.spec.name, self.spec.destination
        where = ", ".join(f"{p}@{o}" for p, o in sorted((r.partition, r.offset) for r in records))
        if destination is None:
            log.error("[%s] %s: dropped %s (no on-failure destination)", name, condition, where)
            return
        discard = Discard(
            records,
            condition,
            invoke_count,
            request_id=last.request_id if last else None,
            function_error=last is not None and last.outcome in ("failure", "timeout"),
        )
        attempt = 0
        while True:
            try:
                await self._destinations.send(destination, discard, self._origin)
            except DestinationError as exc:
                attempt += 1
                log.error("[%s] on-failure destination refused (%s); retrying", name, exc)
                await asyncio.sleep(self._backoff.delay(attempt))
                continue
            log.warning("[%s] %s: %s sent to %s", name, condition, where, destination.uri)
            return


def _order(record: KafkaRecord) -> tuple[int, int]:
    return record.partition, record.offset


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
