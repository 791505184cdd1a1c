"""The real-time chat services: what happens for each client action, in domain terms.

One small service per action group, so each Lambda function wires (and pays at cold start for)
only the adapters its action needs. Guarantees (docs/architecture.md, G1-G7): a message is
acked only after the log (Kafka) holds it; delivery to online members comes after and never
fails the send; a resend with the same clientMsgId in the same room stands for the first
message (same id), so storage stays exactly-once in effect and clients de-duplicate by
messageId; catch-up serves only what is stably stored, so no cursor moves past a message that
is still on its way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger

from mayachat.codec import encode
from mayachat.delivery import Delivery
from mayachat.errors import ChatError, ErrorCode
from mayachat.frames import Ack, SyncPage, WireMessage
from mayachat.ids import new_message_id
from mayachat.limits import Limits
from mayachat.log_names import MESSAGE_CREATED, STABLE_EVENT, STABLE_SEQ_HEADER
from mayachat.membership import Rooms
from mayachat.metrics import Count, Metrics, Timing
from mayachat.model import Caller, Message, Receipt, ReceiptKind, utc_now_iso
from mayachat.ports import (
    Claim,
    ConnectionRegistry,
    Cursors,
    EventLog,
    LogPosition,
    LogRecord,
    LogUnavailable,
    MessageArchive,
    NotAMember,
    RateLimiter,
    SendLedger,
    SendLog,
    SequenceAllocator,
    Slice,
)
from mayachat.presence import Announcer

logger = Logger(child=True)

SCHEMA_VERSION = "1"
# Sync frames stay well under API Gateway's 128 KB message limit.
MAX_SYNC_FRAME_BYTES = 96 * 1024


@dataclass
class Connections:
    registry: ConnectionRegistry
    limiter: RateLimiter
    limits: Limits
    metrics: Metrics
    announcer: Announcer

    def connect(self, caller: Caller) -> None:
        """Register the connection, within the user's limits: attempts per second and open
        connections (a refusal is the handshake's answer: the socket never opens)."""
        wait = self.limiter.take(caller.user_id, self.limits.connect())
        if wait:
            self.metrics.count(Count.CONNECTS_REFUSED)
            raise ChatError(
                ErrorCode.RATE_LIMITED, "too many connection attempts", retry_after=wait
            )
        arrival = self.registry.register(caller.connection_id, caller.user_id)
        if arrival.live > self.limits.max_connections:
            self.registry.remove(caller.user_id, caller.connection_id)
            self.metrics.count(Count.CONNECTS_REFUSED)
            raise ChatError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                f"at most {self.limits.max_connections} open connections per user; "
                "close one (or wait for an idle one to time out)",
            )
        logger.info(
            "connected",
            extra={
                "userId": caller.user_id,
                "connectionId": caller.connection_id,
                "liveConnections": arrival.live,
            },
        )
        if arrival.came_online:
            self.announcer.changed(caller.user_id, arrival.at_ms, "connected")

    def disconnect(self, connection_id: str) -> None:
        departure = self.registry.unregister(connection_id)
        user_id = departure.user_id if departure else None
        logger.info("disconnected", extra={"userId": user_id, "connectionId": connection_id})
        if departure is not None and departure.went_offline:
            self.announcer.changed(departure.user_id, departure.at_ms, "disconnected")


def append_or_unavailable(
    log: EventLog,
    record: LogRecord,
    *,
    client_msg_id: str | None = None,
    message_id: str | None = None,
) -> None:
    """Append to the log, or raise the `unavailable` error the client retries on."""
    logged(record, lambda: log.append(record), client_msg_id=client_msg_id, message_id=message_id)


def logged(
    record: LogRecord,
    wait: Callable[[], LogPosition],
    *,
    client_msg_id: str | None = None,
    message_id: str | None = None,
) -> None:
    """Once `wait` says the log holds the record; else the `unavailable` error."""
    try:
        position = wait()
    except LogUnavailable as exc:
        raise unavailable(record, exc, client_msg_id, message_id) from exc
    logger.info(
        "sent to Kafka",
        extra={
            "topic": position.topic,
            "partition": position.partition,
            "offset": position.offset,
            "key": record.key,
            **dict(record.headers),
        },
    )


def unavailable(
    record: LogRecord, exc: LogUnavailable, client_msg_id: str | None, message_id: str | None
) -> ChatError:
    logger.error(
        "Kafka did not take the record",
        extra={"topic": record.topic, "key": record.key, "error": str(exc)},
    )
    return ChatError(
        ErrorCode.UNAVAILABLE,
        "the message log is unavailable; retry (a message with the same clientMsgId)",
        client_msg_id=client_msg_id,
        message_id=message_id,
    )


@dataclass(frozen=True)
class Sent:
    ack: Ack
    ack_posted: bool = False  # posted with the fan-out: the route response must not repeat it


@dataclass
class Messaging:
    topic: str
    rooms: Rooms
    ledger: SendLedger
    log: SendLog
    delivery: Delivery
    metrics: Metrics

    def send(
        self, caller: Caller, room_id: str, client_msg_id: str, content: dict[str, Any]
    ) -> Sent:
        """Claim, log, confirm, deliver; the sender's ack, and whether it was posted (first,
        with a big room's fan-out) rather than left for the route response."""
        started = time.perf_counter()
        draft = Message(
            message_id=new_message_id(),
            room_id=room_id,
            seq=0,  # the ledger gives it its seq
            sender_id=caller.user_id,
            client_msg_id=client_msg_id,
            content=content,
            created_at=utc_now_iso(),
        )
        claim = self._claim(caller, draft)
        members = claim.members
        message = claim.message
        if claim.acked:
            logger.info(
                "resend answered with the first ack",
                extra={"messageId": message.message_id, "clientMsgId": client_msg_id},
            )
            return Sent(message.ack())
        appending = time.perf_counter()
        record = message_record(self.topic, claim)
        try:
            in_flight = self.log.start(record)
        except LogUnavailable as exc:
            raise unavailable(record, exc, client_msg_id, None) from exc
        # A big room's ack is posted the moment the log has the message, before its members'
        # connections are even read: the sender never waits for the room's size.
        ack_first = len(members) > self.delivery.wave
        # A small room's connections are read while the broker has the record (a read only).
        online = None if ack_first else self._online(members)
        logged(record, in_flight.wait, client_msg_id=client_msg_id)
        self.metrics.timing(Timing.KAFKA_APPEND_LATENCY, _ms_since(appending))
        self.metrics.count(Count.MESSAGES_SENT)
        self._confirm(claim)
        ack_posted = ack_first and self._answer(caller, message)
        try:
            posted = (
                self.delivery.to_members(
                    members,
                    {"type": "message", "message": message.to_wire()},
                    exclude={caller.connection_id},
                    # Posted first already, or (that failed) left to the route response.
                    reply=None if ack_first else (caller.connection_id, message.ack()),
                    what="message",
                    room_id=room_id,
                    online=online,
                )
                or ack_posted
            )
        except Exception:
            # Logged is acked, whatever fails now: an error here would make the phone resend,
            # and a resend after Redis lost the claim would be a second message.
            logger.exception(
                "logged, but live delivery failed; acking anyway (members catch up)",
                extra={"messageId": message.message_id, "seq": message.seq},
            )
            posted = ack_posted
        # Until the route response carries the ack (after a one-wave fan-out); in a room
        # bigger than one wave the ack is posted first, so this is an upper bound there.
        self.metrics.timing(Timing.ACK_LATENCY, _ms_since(started))
        return Sent(message.ack(), ack_posted=posted)

    def _answer(self, caller: Caller, message: Message) -> bool:
        """The ack posted now; False leaves it to the route response."""
        try:
            return self.delivery.answer(caller, message.ack())
        except Exception:
            logger.warning("could not post the ack first", exc_info=True)
            return False

    def _online(self, members: frozenset[str]) -> Mapping[str, list[str]] | None:
        """The members' connections, or None to look again when delivering."""
        try:
            return self.delivery.online(members)
        except Exception:
            logger.warning("could not look the members' connections up", exc_info=True)
            return None

    def _claim(self, caller: Caller, draft: Message) -> Claim:
        """The claim and the membership check in one round trip while the room's members are
        cached (the usual case); on a miss, MongoDB's list (cached for the next send) first."""
        try:
            claim = self.ledger.claim_as_member(draft)
        except NotAMember:
            raise self.rooms.refusal(draft.room_id, client_msg_id=draft.client_msg_id) from None
        if claim is not None:
            return claim
        members = self.rooms.require_member(caller, draft.room_id, draft.client_msg_id)
        return replace(self.ledger.claim(draft), members=members)

    def _confirm(self, claim: Claim) -> None:
        """The log holds the message, so the ack stands whatever happens here: a failed
        confirmation only leaves its seq pending until it is given up (the stable seq waits
        that long), and a resend (none should come: it is acked) re-logs the same message,
        which persist de-duplicates."""
        try:
            self.ledger.confirm(claim)
        except Exception:
            logger.exception(
                "logged, but the send could not be confirmed in Redis; acking anyway",
                extra={"messageId": claim.message.message_id, "seq": claim.message.seq},
            )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def message_record(topic: str, claim: Claim) -> LogRecord:
    message = claim.message
    headers = {
        "eventType": MESSAGE_CREATED,
        "schemaVersion": SCHEMA_VERSION,
        "messageId": message.message_id,
        "senderId": message.sender_id,
    }
    stable = claim.stable_once_logged()
    if stable is not None:
        headers[STABLE_SEQ_HEADER] = str(stable)
    return LogRecord(
        topic=topic, key=message.room_id, value=encode(message.to_wire()), headers=headers
    )


@dataclass
class StablePublisher:
    """Tells the persist function a room's stable seq when no message will carry it (a
    quiet room after concurrent sends, or a seq given up): readers call it, because they
    are the ones waiting for it. Kafka and MongoDB are asked only when Redis knows more."""

    topic: str
    sequences: SequenceAllocator
    log: EventLog

    def catch_up(self, room_id: str, durable: int) -> bool:
        """Publish the stable seq if needed; whether catch-up has more on its way (then the
        reader asks again in a moment)."""
        try:
            lag = self.sequences.lag(room_id, durable)
            stable = lag.publish
            if stable is None:
                return lag.behind
            self.log.append(
                LogRecord(
                    topic=self.topic,
                    key=room_id,
                    value=encode({"type": "stable", "roomId": room_id, "stableSeq": stable}),
                    headers={
                        "eventType": STABLE_EVENT,
                        "schemaVersion": SCHEMA_VERSION,
                        STABLE_SEQ_HEADER: str(stable),
                    },
                )
            )
            return lag.behind
        except Exception:
            # Catch-up still serves what is durably stable; the next reader asks again.
            logger.warning(
                "could not publish the room's stable seq", extra={"roomId": room_id}, exc_info=True
            )
            return True


@dataclass
class Typing:
    rooms: Rooms
    delivery: Delivery

    def typing(self, caller: Caller, room_id: str, is_typing: bool) -> None:
        members = self.rooms.require_member(caller, room_id)
        self.delivery.to_members(
            members - {caller.user_id},
            {"type": "typing", "roomId": room_id, "userId": caller.user_id, "isTyping": is_typing},
            what="typing",
            room_id=room_id,
        )


@dataclass
class Receipts:
    topic: str
    rooms: Rooms
    sequences: SequenceAllocator
    cursors: Cursors
    log: EventLog
    delivery: Delivery

    def mark(self, caller: Caller, room_id: str, kind: ReceiptKind, up_to_seq: int) -> None:
        members = self.rooms.require_member(caller, room_id)
        latest = self.sequences.latest(room_id)
        if up_to_seq > latest:
            raise ChatError(
                ErrorCode.INVALID_SEQ,
                f"upToSeq {up_to_seq} is beyond the room's latest seq {latest}",
            )
        current = self.cursors.position(room_id, caller.user_id, kind)
        if current is not None and up_to_seq <= current:
            return  # cursors only move forward: nothing to record or tell
        receipt = Receipt(room_id=room_id, user_id=caller.user_id, kind=kind, up_to_seq=up_to_seq)
        # Log first, then move the cached cursor: if the log is down the client retries and
        # the cursor has not moved; a repeated receipt in the log is harmless ($max on apply).
        append_or_unavailable(
            self.log,
            LogRecord(
                topic=self.topic,
                key=room_id,
                value=encode(receipt.to_wire()),
                headers={"eventType": f"receipt.{kind.value}", "schemaVersion": SCHEMA_VERSION},
            ),
        )
        if not self.cursors.advance(room_id, caller.user_id, kind, up_to_seq):
            return  # a concurrent mark got further first
        logger.info(
            "status updated",
            extra={
                "roomId": room_id,
                "userId": caller.user_id,
                "kind": kind.value,
                "upToSeq": up_to_seq,
            },
        )
        self.delivery.to_members(
            members,
            receipt.to_wire(),
            exclude={caller.connection_id},
            what="receipt",
            room_id=room_id,
        )


@dataclass
class Sync:
    """Catch-up over the socket, from the durable store only and never past the room's
    stable seq: a cursor taken from these frames never skips a message still on its way."""

    rooms: Rooms
    archive: MessageArchive
    stable: StablePublisher
    delivery: Delivery
    limiter: RateLimiter
    limits: Limits
    page_size: int = 100

    def sync(self, caller: Caller, room_id: str, after_seq: int, limit: int | None) -> None:
        self.rooms.require_member(caller, room_id)
        wanted = min(limit or self.page_size, self.page_size)
        page, durable = self.archive.after(room_id, after_seq, wanted)
        behind = self.stable.catch_up(room_id, durable)
        # One post at a time: the frames of one answer must arrive in order.
        owner = {caller.connection_id: caller.user_id}
        frames = list(sync_frames(room_id, page, caught_up=not behind))
        if len(frames) > 1 and self.limiter.take(
            caller.user_id, self.limits.answer_frames(), cost=len(frames) - 1
        ):
            # A small frame must not buy megabytes: without the tokens for the whole page,
            # the first ~96 KB, and hasMore: the client pages on, within its rate.
            frames = [first_frame_only(frames[0], page, after_seq, caught_up=not behind)]
        for frame in frames:
            self.delivery.post(
                [(caller.connection_id, encode(frame))], owner, what="sync", room_id=room_id
            )


def first_frame_only(frame: SyncPage, page: Slice, after_seq: int, *, caught_up: bool) -> SyncPage:
    """The first frame of a page, made final, its cursor the highest seq it covers whole.
    Updates come first: once it holds them all, every seq below the first message it does
    not hold is covered (the records there are changes, whose updates it holds)."""
    held = len(frame["messages"])
    if len(frame["updates"]) < len(page.updates):
        up_to = after_seq  # not even the updates fit: the same page again, within the rate
    elif held == len(page.messages):
        up_to = page.last_seq
    else:
        up_to = page.messages[held].seq - 1
    return {**frame, "final": True, "hasMore": True, "caughtUp": caught_up, "upToSeq": up_to}


def sync_frames(room_id: str, page: Slice, *, caught_up: bool = True) -> Iterable[SyncPage]:
    """`sync` frames of at most MAX_SYNC_FRAME_BYTES: `updates` (older messages changed
    since the cursor), then new messages. The last has `final: true` and `upToSeq`, the
    client's cursor from now on; its `hasMore` says whether to sync again from that cursor
    at once, its `caughtUp: false` that more is on its way into the store: sync again in a
    moment."""
    messages: list[WireMessage] = []
    updates: list[WireMessage] = []
    size = 0
    items = [(True, m) for m in page.updates] + [(False, m) for m in page.messages]
    for is_update, message in items:
        wire = message.to_wire()
        wire_size = len(json.dumps(wire, ensure_ascii=False).encode())
        if (messages or updates) and size + wire_size > MAX_SYNC_FRAME_BYTES:
            yield {
                "type": "sync",
                "roomId": room_id,
                "messages": messages,
                "updates": updates,
                "hasMore": True,
                "final": False,
            }
            messages, updates, size = [], [], 0
        (updates if is_update else messages).append(wire)
        size += wire_size
    yield {
        "type": "sync",
        "roomId": room_id,
        "messages": messages,
        "updates": updates,
        "hasMore": page.has_more,
        "final": True,
        "caughtUp": caught_up,
        "upToSeq": page.last_seq,
    }
