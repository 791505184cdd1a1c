"""The event-source mapping's decisions, free of I/O: what goes in a batch, what the function's
answer means, what to retry after a failure, and how far each partition may be committed."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mayachat_local.esm.event import (
    EVENT_OVERHEAD,
    PARTITION_OVERHEAD,
    PAYLOAD_LIMIT,
    KafkaRecord,
)

Records = tuple[KafkaRecord, ...]


def take_batch(
    buffers: Mapping[int, deque[KafkaRecord]],
    partitions: Sequence[int],
    batch_size: int,
    limit: int = PAYLOAD_LIMIT,
) -> Records:
    """Pop the next batch off the partitions' buffers, in partition order: at most
    `batch_size` records and `limit` bytes of event (a record alone above it still goes, on
    its own, so the caller can discard it as Lambda does)."""
    batch: list[KafkaRecord] = []
    size = EVENT_OVERHEAD
    for partition in partitions:
        queue = buffers[partition]
        opened = False
        while queue and len(batch) < batch_size:
            record = queue[0]
            extra = record.size + (0 if opened else PARTITION_OVERHEAD)
            if batch and size + extra > limit:
                return tuple(batch)
            batch.append(queue.popleft())
            size += extra
            opened = True
            if size > limit:  # one oversized record: alone
                return tuple(batch)
    return tuple(batch)


@dataclass(frozen=True)
class Batch:
    """Records to invoke the function with, and how many invocations they already had."""

    records: Records
    attempts: int = 0


def bisect(records: Records) -> tuple[Records, Records]:
    """Halves, in order: the first holds each partition's earlier records."""
    middle = (len(records) + 1) // 2
    return records[:middle], records[middle:]


def after_failure(batch: Batch, retry_limit: int | None, split: bool) -> list[Batch]:
    """What to invoke next after the function failed on the whole batch (an error, a
    timeout, a malformed response); [] once the retries are spent. With
    BisectBatchOnFunctionError each half is retried on its own, and a split counts as a
    retry of both halves (AWS does not document it; this keeps the attempts bounded)."""
    if retry_limit is not None and batch.attempts >= retry_limit:
        return []
    attempts = batch.attempts + 1
    if split and len(batch.records) > 1:
        return [Batch(half, attempts) for half in bisect(batch.records)]
    return [Batch(batch.records, attempts)]


def after_partial_failure(batch: Batch, retry: Records, retry_limit: int | None) -> list[Batch]:
    """After a partial batch response only the remaining records are retried, unsplit."""
    if retry_limit is not None and batch.attempts >= retry_limit:
        return []
    return [Batch(retry, batch.attempts + 1)]


def split_expired(records: Records, now_ms: int, max_age_s: int) -> tuple[Records, Records]:
    """(fresh, older than MaximumRecordAgeInSeconds)."""
    if max_age_s < 0:
        return records, ()
    cutoff = now_ms - max_age_s * 1000
    fresh = tuple(r for r in records if r.timestamp >= cutoff)
    return fresh, tuple(r for r in records if r.timestamp < cutoff)


# ------------------------------------------------------------------ the function's answer
@dataclass(frozen=True)
class Success:
    pass


@dataclass(frozen=True)
class PartialFailure:
    """Per failed partition, everything before its lowest failed offset is done; the rest is
    retried (Lambda checkpoints streams at the lowest failed record)."""

    done: Records
    retry: Records


@dataclass(frozen=True)
class Failure:
    reason: str


Verdict = Success | PartialFailure | Failure


def interpret_response(response: Any, records: Records, report_item_failures: bool) -> Verdict:
    """What Lambda makes of a handler's return value. Without ReportBatchItemFailures the
    value is ignored. With it: null, empty, or an empty/null `batchItemFailures` is a success;
    an item naming no record of the batch (or malformed) fails the whole batch."""
    if not report_item_failures or response is None or response == "":
        return Success()
    if not isinstance(response, dict):
        return Failure(f"not a batch response: {type(response).__name__}")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return Success()
    if not isinstance(failures, list):
        return Failure("batchItemFailures is not a list")
    in_batch = {(r.partition_key, r.offset) for r in records}
    lowest: dict[str, int] = {}
    for item in failures:
        identifier = _identifier(item)
        if identifier is None or identifier not in in_batch:
            return Failure(f"invalid batch item failure {item!r}")
        key, offset = identifier
        lowest[key] = min(offset, lowest.get(key, offset))
    failed = [r.partition_key in lowest and r.offset >= lowest[r.partition_key] for r in records]
    done = tuple(r for r, f in zip(records, failed, strict=True) if not f)
    retry = tuple(r for r, f in zip(records, failed, strict=True) if f)
    return PartialFailure(done, retry)


def _identifier(item: Any) -> tuple[str, int] | None:
    identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
    if not isinstance(identifier, dict):
        return None
    # Powertools and Lambda's examples say "partition"; the Kafka guide's schema says
    # "topic-partition". Both name the event's "topic-partition" key.
    key = identifier.get("partition", identifier.get("topic-partition"))
    offset = identifier.get("offset")
    if isinstance(offset, str) and offset.isdigit():
        offset = int(offset)
    if not isinstance(key, str) or not isinstance(offset, int) or isinstance(offset, bool):
        return None
    return key, offset


# ------------------------------------------------------------------ commits
class Checkpoint:
    """Which offset each partition of a batch may commit: the first record not yet done (or
    past the last), so bisected halves, partial successes and discards never skip a record."""

    def __init__(self, records: Iterable[KafkaRecord]) -> None:
        self._offsets: dict[int, list[int]] = {}
        for record in records:
            self._offsets.setdefault(record.partition, []).append(record.offset)
        for offsets in self._offsets.values():
            offsets.sort()
        self._done: set[tuple[int, int]] = set()
        self._committed = {p: offsets[0] for p, offsets in self._offsets.items()}

    def complete(self, records: Iterable[KafkaRecord]) -> dict[int, int]:
        """Mark records done; the partitions whose commit point moved, with the new offset."""
        touched = set()
        for record in records:
            self._done.add((record.partition, record.offset))
            touched.add(record.partition)
        moved = {}
        for partition in touched:
            offsets = self._offsets[partition]
            point = next((o for o in offsets if (partition, o) not in self._done), offsets[-1] + 1)
            if point > self._committed[partition]:
                self._committed[partition] = point
                moved[partition] = point
        return moved


@dataclass(frozen=True)
class Backoff:
    """Delay before retry n (1, 2, ...): initial * 2^(n-1), capped."""

    initial: float = 0.5
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.initial * 2 ** max(0, attempt - 1)))
