"""The persist service: Kafka records in, MongoDB documents out, exactly once in effect.

Lambda's MSK event-source mapping is at-least-once, so everything here is idempotent: messages
are keyed by messageId (a redelivery is a duplicate, not a second copy) and receipts only move
cursors forward. Each record ends as one of:
- done: stored now, or already stored;
- dead-lettered: it can never be stored (undecodable, invalid, conflicting); it goes to the
  dead-letter destination with the reason, and its neighbours are stored;
- retry: a transient failure (MongoDB unreachable...): reported as a batch item failure so the
  mapping redelivers it; it never blocks the rest of the batch.

Then each room's durable stable seq is raised to what its records announce (the `stableSeq`
header of a message, or a `room.stable` record): every acked message at or below it was
logged before that record, so once the records before it are stored, so are they. A room's
records come in log order (one partition); a record still to retry stops its room there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from mayachat.log_schema import (
    CHANGE_EVENTS,
    STABLE_EVENT,
    STABLE_SEQ_HEADER,
    WireChange,
    WireMessage,
    WireReceipt,
    WireStable,
)
from mayachat.metrics import Count, Metrics, Timing
from mayachat.model import Change, ChangeKind, Message, Receipt, ReceiptKind
from mayachat.ports import (
    AttachmentKeeper,
    ChangeOutcome,
    DeadLetter,
    DeadLetters,
    MessageStore,
    StoreOutcome,
)

logger = Logger(child=True)


class Outcome(StrEnum):
    DONE = "done"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def event_type(self) -> str | None:
        """The `eventType` header: which kind of record this is (messages carry none)."""
        raw = self.headers.get("eventType")
        return raw.decode(errors="replace") if raw is not None else None


class Poison(ValueError):
    """This record can never be stored as it is."""


@dataclass(frozen=True)
class StableMark:
    """A room's stable seq, told by the log (a `room.stable` record)."""

    room_id: str
    seq: int


@dataclass
class Persister:
    messages_topic: str
    events_topic: str
    store: MessageStore
    dead_letters: DeadLetters
    metrics: Metrics
    attachments: AttachmentKeeper | None = None  # None: this deployment has no uploads

    def persist(self, records: list[IncomingRecord]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(records)
        messages: list[tuple[int, Message]] = []
        receipts: list[tuple[int, Receipt]] = []
        changes: list[tuple[int, Change]] = []
        marks: dict[int, StableMark] = {}  # record index -> the stable seq it announces
        for i, record in enumerate(records):
            try:
                decoded = self._decode(record)
                mark = _announced(record, decoded)
            except Poison as poison:
                outcomes[i] = self._dead_letter(record, str(poison))
                continue
            if mark is not None:
                marks[i] = mark
            if isinstance(decoded, Message):
                messages.append((i, decoded))
            elif isinstance(decoded, Receipt):
                receipts.append((i, decoded))
            elif isinstance(decoded, Change):
                changes.append((i, decoded))
            else:
                outcomes[i] = Outcome.DONE
        logger.info(
            "received from Kafka",
            extra={
                "records": len(records),
                "messages": len(messages),
                "receipts": len(receipts),
                "changes": len(changes),
            },
        )
        self._store_messages(records, messages, outcomes)
        self._keep_attachments(messages, outcomes)
        # After the messages: a change waits for its message (stored above, when both came
        # in this batch).
        self._apply_changes(changes, outcomes)
        self._apply_receipts(receipts, outcomes)
        self._raise_stable(marks, outcomes)
        final = [o or Outcome.RETRY for o in outcomes]
        if Outcome.RETRY in final:
            self.metrics.count(Count.RECORDS_RETRIED, final.count(Outcome.RETRY))
        return final

    def _raise_stable(self, marks: dict[int, StableMark], outcomes: list[Outcome | None]) -> None:
        stable: dict[str, int] = {}
        stopped: set[str] = set()
        for i, mark in sorted(marks.items()):
            if mark.room_id in stopped:
                continue
            if outcomes[i] is not Outcome.DONE:
                stopped.add(mark.room_id)  # not stored yet: nothing after it counts
                continue
            stable[mark.room_id] = max(stable.get(mark.room_id, 0), mark.seq)
        if not stable or self.store.raise_stable(stable):
            if stable:
                logger.info("stable seqs raised", extra={"rooms": stable})
            return
        for i, mark in marks.items():  # redelivered, they raise it again
            if mark.room_id in stable:
                outcomes[i] = Outcome.RETRY

    def _decode(self, record: IncomingRecord) -> Message | Receipt | StableMark | Change:
        """Parse and validate in one pass (pydantic-core reads the JSON bytes itself)."""
        if record.value is None:
            raise Poison("empty value (tombstone)")
        try:
            if record.topic == self.messages_topic and record.event_type == STABLE_EVENT:
                mark = WireStable.model_validate_json(record.value)
                return StableMark(mark.roomId, mark.stableSeq)
            if record.topic == self.messages_topic and record.event_type in CHANGE_EVENTS:
                return WireChange.model_validate_json(record.value).change()
            if record.topic == self.messages_topic:
                return WireMessage.model_validate_json(record.value).message()
            if record.topic == self.events_topic:
                receipt = WireReceipt.model_validate_json(record.value)
                return Receipt(
                    room_id=receipt.roomId,
                    user_id=receipt.userId,
                    kind=ReceiptKind(receipt.kind),
                    up_to_seq=receipt.upToSeq,
                    at=receipt.at,
                )
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "json_invalid":
                raise Poison(f"value is not JSON: {first['msg']}") from None
            where = ".".join(str(p) for p in first["loc"]) or "value"
            raise Poison(f"invalid {where}: {first['msg']}") from None
        raise Poison(f"no handler for topic {record.topic}")

    def _store_messages(
        self,
        records: list[IncomingRecord],
        messages: list[tuple[int, Message]],
        outcomes: list[Outcome | None],
    ) -> None:
        if not messages:
            return
        results = self.store.store_messages([m for _, m in messages])
        stored = 0
        now = datetime.now(UTC)
        for (i, message), result in zip(messages, results, strict=True):
            if result in (StoreOutcome.STORED, StoreOutcome.DUPLICATE):
                outcomes[i] = Outcome.DONE
                if result is StoreOutcome.STORED:
                    stored += 1
                    self.metrics.timing(Timing.STORED_LAG, _lag_ms(message, now))
            elif result is StoreOutcome.CONFLICT:
                outcomes[i] = self._dead_letter(
                    records[i],
                    f"seq {message.seq} of room {message.room_id} already belongs "
                    "to another message",
                )
            else:
                outcomes[i] = Outcome.RETRY
        duplicates = results.count(StoreOutcome.DUPLICATE)
        self.metrics.count(Count.MESSAGES_PERSISTED, stored)
        if duplicates:
            self.metrics.count(Count.DUPLICATES_SKIPPED, duplicates)
        logger.info(
            "saved to MongoDB",
            extra={
                "stored": stored,
                "duplicates": duplicates,
                "retry": results.count(StoreOutcome.FAILED),
            },
        )

    def _keep_attachments(
        self, messages: list[tuple[int, Message]], outcomes: list[Outcome | None]
    ) -> None:
        """Uploads a stored message refers to are kept (an upload no message refers to
        expires); a failure retries the message (keeping is idempotent)."""
        if self.attachments is None:
            return
        for i, message in messages:
            attachment = message.content.get("attachmentId")
            if outcomes[i] is not Outcome.DONE or not isinstance(attachment, str):
                continue
            kept = _upload_done(
                self.attachments.keep,
                message.room_id,
                attachment,
                message.message_id,
                "could not keep an upload; the message is retried",
            )
            if not kept:
                outcomes[i] = Outcome.RETRY

    def _apply_changes(
        self, changes: list[tuple[int, Change]], outcomes: list[Outcome | None]
    ) -> None:
        if not changes:
            return
        pending = self._forget_attachments(changes, outcomes)
        applied = self.store.apply_changes([c for _, c in pending])
        for (i, _), outcome in zip(pending, applied, strict=True):
            outcomes[i] = Outcome.DONE if outcome is ChangeOutcome.APPLIED else Outcome.RETRY
        self.metrics.count(Count.CHANGES_APPLIED, applied.count(ChangeOutcome.APPLIED))
        logger.info(
            "changes applied",
            extra={
                "applied": applied.count(ChangeOutcome.APPLIED),
                "waiting": applied.count(ChangeOutcome.NOT_YET),
                "retry": applied.count(ChangeOutcome.FAILED),
            },
        )

    def _forget_attachments(
        self, changes: list[tuple[int, Change]], outcomes: list[Outcome | None]
    ) -> list[tuple[int, Change]]:
        """A deleted message's upload goes before its tombstone is written (which forgets
        which upload it was); those that could not be deleted are retried, not applied."""
        deletions = [c.message_id for _, c in changes if c.kind is ChangeKind.DELETE]
        if self.attachments is None or not deletions:
            return changes
        try:
            uploads = self.store.attachments_of(deletions)
        except Exception:
            logger.warning("could not read the deleted messages' uploads", exc_info=True)
            for i, change in changes:
                if change.kind is ChangeKind.DELETE:
                    outcomes[i] = Outcome.RETRY
            return [(i, c) for i, c in changes if c.kind is not ChangeKind.DELETE]
        ready = []
        for i, change in changes:
            upload = uploads.get(change.message_id) if change.kind is ChangeKind.DELETE else None
            if upload is not None and not _upload_done(
                self.attachments.forget,
                change.room_id,
                upload,
                change.message_id,
                "could not delete an upload; the deletion is retried",
            ):
                outcomes[i] = Outcome.RETRY
                continue
            ready.append((i, change))
        return ready

    def _apply_receipts(
        self, receipts: list[tuple[int, Receipt]], outcomes: list[Outcome | None]
    ) -> None:
        if not receipts:
            return
        applied = self.store.apply_receipts([r for _, r in receipts])
        for (i, _), ok in zip(receipts, applied, strict=True):
            outcomes[i] = Outcome.DONE if ok else Outcome.RETRY
        logger.info("status updated", extra={"receipts": sum(applied)})

    def _dead_letter(self, record: IncomingRecord, reason: str) -> Outcome:
        try:
            self.dead_letters.send(
                DeadLetter(
                    record.topic, record.partition, record.offset, record.key, record.value, reason
                )
            )
        except Exception:
            # Never drop it: retried until the dead-letter destination takes it.
            logger.exception("dead-letter destination refused the record", extra=_where(record))
            return Outcome.RETRY
        logger.warning("record dead-lettered", extra={**_where(record), "reason": reason})
        self.metrics.count(Count.DEAD_LETTERED)
        return Outcome.DEAD_LETTERED


def _upload_done(
    act: Callable[[str, str], None], room_id: str, upload: str, message_id: str, failure: str
) -> bool:
    """Keep or forget an upload; False (logged) when S3 failed: the record is retried."""
    try:
        act(room_id, upload)
    except Exception:
        logger.warning(
            failure, extra={"messageId": message_id, "attachmentId": upload}, exc_info=True
        )
        return False
    return True


def _lag_ms(message: Message, now: datetime) -> float:
    """From the ack (the message's createdAt, stamped as it was claimed) to now."""
    try:
        created = datetime.fromisoformat(message.created_at)
    except ValueError:
        return 0.0
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (now - created).total_seconds() * 1000)


def _announced(
    record: IncomingRecord, decoded: Message | Receipt | StableMark | Change
) -> StableMark | None:
    """The stable seq a record announces: a mark itself, or the `stableSeq` header of a
    message or a change (a change's seq is its version)."""
    if isinstance(decoded, StableMark):
        return decoded
    raw = record.headers.get(STABLE_SEQ_HEADER)
    if not isinstance(decoded, Message | Change) or raw is None:
        return None
    own = decoded.seq if isinstance(decoded, Message) else decoded.version
    try:
        seq = int(raw)
    except ValueError:
        seq = -1
    if not 0 <= seq <= own:
        # The message is good and is stored; only the announcement is ignored.
        logger.warning(
            "ignored a bad stableSeq header", extra={**_where(record), "header": raw[:20]}
        )
        return None
    return StableMark(decoded.room_id, seq)


def _where(record: IncomingRecord) -> dict[str, object]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}
