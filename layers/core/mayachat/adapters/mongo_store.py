"""The persist function's MongoDB writes: bulk, idempotent, forward-only.

- messages: one unordered insert_many per batch, `_id` = messageId. A duplicate key on `_id`
  is a redelivery or a resend: nothing changes, unless it comes with a higher seq (a resend
  whose first seq was given up): then the message moves to that seq, the one its ack names,
  whatever order the two copies arrive in. A duplicate on (roomId, seq) with another id is a
  conflict the caller dead-letters, never a silent drop.
- stable seqs: `$max` per room, never lowered.
- room summaries (last message, last seq, updated at): one conditional update per room and
  batch, so they never move backwards.
- receipts: a `$max` upsert of the member's cursor; `read` implies `delivered`.
- edits, deletions, reactions: one conditional update each, in one unordered bulk write. An
  edit where its version is above the message's, a reaction where above that user's emoji's,
  neither on a deleted message; a deletion always, once: the content becomes a tombstone, the
  reactions go, and so does the room summary's copy of the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from mayachat.adapters.mongo_schema import (
    CHANGES,
    CURSORS,
    MESSAGES,
    ROOMS,
    Document,
    created_at,
    message_to_document,
    reaction_key,
)
from mayachat.model import DELETED_CONTENT, Change, ChangeKind, Message, Receipt, ReceiptKind
from mayachat.ports import ChangeOutcome, StoreOutcome
from mayachat.tracing import traced_calls

logger = Logger(child=True)

DUPLICATE_KEY = 11000


# MongoDB refused the credentials: AuthenticationFailed, Unauthorized.
AUTH_FAILURES = {18, 13}


@traced_calls("mongodb")
class MongoMessageStore:
    """`reconnect` (bootstrap's) gives a database with fresh credentials: called when MongoDB
    refuses the cached client's (a rotated password), so retries can succeed in this
    container instead of failing until Lambda recycles it."""

    def __init__(
        self, db: Database[Document], reconnect: Callable[[], Database[Document]] | None = None
    ) -> None:
        self._reconnect = reconnect
        self._bind(db)

    def _bind(self, db: Database[Document]) -> None:
        self._messages = db[MESSAGES]
        self._rooms = db[ROOMS]
        self._cursors = db[CURSORS]
        self._changes = db[CHANGES]

    def _failed(self, exc: PyMongoError) -> None:
        if not (isinstance(exc, OperationFailure) and exc.code in AUTH_FAILURES):
            return
        if self._reconnect is None:
            return
        logger.warning("MongoDB refused the credentials; reconnecting with fresh ones")
        try:
            self._bind(self._reconnect())
        except Exception:
            logger.exception("could not reconnect to MongoDB; the batch is retried")

    def store_messages(self, messages: Sequence[Message]) -> list[StoreOutcome]:
        outcomes = [StoreOutcome.STORED] * len(messages)
        try:
            self._messages.insert_many([message_to_document(m) for m in messages], ordered=False)
        except BulkWriteError as exc:
            duplicates = []
            for error in exc.details.get("writeErrors", []):
                if error.get("code") == DUPLICATE_KEY:
                    duplicates.append(error["index"])
                else:
                    outcomes[error["index"]] = StoreOutcome.FAILED
            try:
                self._classify_duplicates(messages, duplicates, outcomes)
            except PyMongoError as failure:
                self._failed(failure)
                for i in duplicates:
                    outcomes[i] = StoreOutcome.FAILED
        except PyMongoError as exc:
            self._failed(exc)
            return [StoreOutcome.FAILED] * len(messages)
        self._update_summaries(messages, outcomes)
        return outcomes

    def _classify_duplicates(
        self, messages: Sequence[Message], indexes: list[int], outcomes: list[StoreOutcome]
    ) -> None:
        if not indexes:
            return
        ids = [messages[i].message_id for i in indexes]
        stored = {
            d["_id"]: int(d["seq"])
            for d in self._messages.find({"_id": {"$in": ids}}, {"_id": 1, "seq": 1})
        }
        for i in indexes:
            message = messages[i]
            seq = stored.get(message.message_id)
            if seq is None:
                outcomes[i] = StoreOutcome.CONFLICT
            elif message.seq > seq:
                outcomes[i] = self._move(message, seq)
            else:
                outcomes[i] = StoreOutcome.DUPLICATE

    def _move(self, message: Message, stored_seq: int) -> StoreOutcome:
        """The same message under a higher seq: its ack names that one, so it moves there.
        One persist invocation at a time per partition, so no concurrent writer races it."""
        try:
            self._messages.update_one(
                {"_id": message.message_id, "seq": stored_seq}, {"$set": {"seq": message.seq}}
            )
        except DuplicateKeyError:
            return StoreOutcome.CONFLICT
        return StoreOutcome.STORED

    def _update_summaries(self, messages: Sequence[Message], outcomes: list[StoreOutcome]) -> None:
        """Raise each room's summary to its newest message in this batch; where that fails,
        its messages are retried (they come back as duplicates and the summary is redone)."""
        newest: dict[str, int] = {}
        for i, (message, outcome) in enumerate(zip(messages, outcomes, strict=True)):
            if outcome in (StoreOutcome.STORED, StoreOutcome.DUPLICATE):
                best = newest.get(message.room_id)
                if best is None or messages[best].seq < message.seq:
                    newest[message.room_id] = i
        if not newest:
            return
        now = datetime.now(UTC)
        updates = [
            UpdateOne(
                {
                    "_id": room_id,
                    "$or": [{"lastSeq": {"$lt": messages[i].seq}}, {"lastSeq": {"$exists": False}}],
                },
                {
                    "$set": {
                        "lastSeq": messages[i].seq,
                        "updatedAt": now,
                        "lastMessage": _summary(messages[i]),
                    }
                },
            )
            for room_id, i in newest.items()
        ]
        try:
            self._rooms.bulk_write(updates, ordered=False)
        except PyMongoError as exc:
            self._failed(exc)
            rooms = set(newest)
            for i, message in enumerate(messages):
                if message.room_id in rooms:
                    outcomes[i] = StoreOutcome.FAILED

    def apply_receipts(self, receipts: Sequence[Receipt]) -> list[bool]:
        updates = []
        for receipt in receipts:
            raised = {"deliveredUpToSeq": receipt.up_to_seq}
            if receipt.kind is ReceiptKind.READ:
                raised["readUpToSeq"] = receipt.up_to_seq
            updates.append(
                UpdateOne(
                    {"_id": f"{receipt.room_id}:{receipt.user_id}"},
                    {
                        "$max": raised,
                        "$set": {
                            "roomId": receipt.room_id,
                            "userId": receipt.user_id,
                            "updatedAt": datetime.now(UTC),
                        },
                    },
                    upsert=True,
                )
            )
        try:
            self._cursors.bulk_write(updates, ordered=False)
        except BulkWriteError as exc:
            failed = {e["index"] for e in exc.details.get("writeErrors", [])}
            return [i not in failed for i in range(len(receipts))]
        except PyMongoError as exc:
            self._failed(exc)
            return [False] * len(receipts)
        return [True] * len(receipts)

    def apply_changes(self, changes: Sequence[Change]) -> list[ChangeOutcome]:
        """A change whose message is not stored yet waits (retried: it is on its way, behind
        it in the same partition); one that matches nothing is older than what is stored,
        or for a deleted message: applied, in effect."""
        if not changes:
            return []
        try:
            ids = list({c.message_id for c in changes})
            stored = {d["_id"] for d in self._messages.find({"_id": {"$in": ids}}, {"_id": 1})}
        except PyMongoError as exc:
            self._failed(exc)
            return [ChangeOutcome.FAILED] * len(changes)
        outcomes = [
            ChangeOutcome.APPLIED if c.message_id in stored else ChangeOutcome.NOT_YET
            for c in changes
        ]
        ready = [i for i, c in enumerate(changes) if c.message_id in stored]
        updates = [_change_updates(changes[i]) for i in ready]
        pointers = [
            {
                "_id": f"{changes[i].room_id}:{changes[i].version}",
                "roomId": changes[i].room_id,
                "seq": changes[i].version,
                "messageId": changes[i].message_id,
            }
            for i in ready
        ]
        try:
            if updates:
                self._messages.bulk_write([message for message, _ in updates], ordered=False)
                self._record_changes(pointers)
            summaries = [summary for _, summary in updates if summary is not None]
            if summaries:
                self._rooms.bulk_write(summaries, ordered=False)
        except BulkWriteError as exc:
            # Either write failed in part: retry the lot (each update is idempotent).
            logger.warning(
                "changes not applied", extra={"errors": len(exc.details.get("writeErrors", []))}
            )
            for i in ready:
                outcomes[i] = ChangeOutcome.FAILED
        except PyMongoError as exc:
            self._failed(exc)
            for i in ready:
                outcomes[i] = ChangeOutcome.FAILED
        return outcomes

    def _record_changes(self, pointers: list[Document]) -> None:
        """Where catch-up finds the change (messages under a cursor it changed): written
        after the change, so a catch-up that finds it finds the message changed."""
        try:
            self._changes.insert_many(pointers, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    def attachments_of(self, message_ids: Sequence[str]) -> dict[str, str]:
        found = self._messages.find(
            {"_id": {"$in": list(message_ids)}, "content.attachmentId": {"$exists": True}},
            {"content.attachmentId": 1},
        )
        return {d["_id"]: str(d["content"]["attachmentId"]) for d in found}

    def raise_stable(self, stable: Mapping[str, int]) -> bool:
        if not stable:
            return True
        updates = [
            UpdateOne({"_id": room_id}, {"$max": {"stableSeq": seq}})
            for room_id, seq in stable.items()
        ]
        try:
            self._rooms.bulk_write(updates, ordered=False)
        except PyMongoError as exc:
            self._failed(exc)
            return False
        return True


def _change_updates(change: Change) -> tuple[UpdateOne, UpdateOne | None]:
    """The update of the message, and of its room's summary when that shows it. Every change
    raises the message's `version` (the seq of its newest change); an edit wins over older
    edits by `editVersion`, a reaction over that user's older ones of that emoji by its `v`."""
    at = datetime.fromisoformat(change.at.replace("Z", "+00:00"))
    v = change.version
    live = {"_id": change.message_id, "deleted": {"$ne": True}}
    summary = {"_id": change.room_id, "lastMessage.messageId": change.message_id}
    if change.kind is ChangeKind.EDIT:
        edit = {"content": change.content, "editedAt": at, "editVersion": v}
        return (
            UpdateOne(
                {**live, "$or": _older("editVersion", v)},
                {"$set": edit, "$max": {"version": v}},
            ),
            UpdateOne(
                {
                    **summary,
                    "lastMessage.deleted": {"$ne": True},
                    "$or": _older("lastMessage.editVersion", v),
                },
                {"$set": {"lastMessage." + k: value for k, value in edit.items()}},
            ),
        )
    if change.kind is ChangeKind.DELETE:
        tombstone = {
            "deleted": True,
            "deletedAt": at,
            "deletedBy": change.user_id,
            "content": DELETED_CONTENT,
        }
        return (
            UpdateOne(
                live,
                {"$set": tombstone, "$max": {"version": v}, "$unset": {"reactions": ""}},
            ),
            UpdateOne(
                summary,
                {"$set": {"lastMessage.content": DELETED_CONTENT, "lastMessage.deleted": True}},
            ),
        )
    field = "reactions." + reaction_key(change.user_id, change.emoji or "")
    reaction = {"u": change.user_id, "e": change.emoji, "v": v, "on": change.added}
    return (
        UpdateOne(
            {**live, "$or": _older(field + ".v", v)},
            {"$set": {field: reaction}, "$max": {"version": v}},
        ),
        None,
    )


def _older(path: str, version: int) -> list[Document]:
    """`path` holds an older version than this, or none."""
    return [{path: {"$lt": version}}, {path: {"$exists": False}}]


def _summary(message: Message) -> Document:
    return {
        "messageId": message.message_id,
        "seq": message.seq,
        "senderId": message.sender_id,
        "content": message.content,
        "createdAt": created_at(message),
    }
