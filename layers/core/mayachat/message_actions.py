"""Edits, deletions and reactions: the rules, then the log, then the room.

Each change goes the way a message goes: checked against the message's facts (Redis, from
its send on; MongoDB for older ones), given a seq of its room (its version: above every
earlier change of the message), appended to Kafka under its room's key (so persist applies
it after the message itself), acked, applied to the cached facts, and told to the room's
online members. Persist applies it to MongoDB where newer than what is stored, so a late or
repeated change never undoes a newer one, and a deletion is final. Its seq counts in the
room's stable seq: catch-up from a cursor below it returns the changed message, so a client
that syncs converges to what live clients saw (docs/protocol.md).

A retried change (the client heard `unavailable`, or nothing) is logged again with a new
seq: the same edit twice is the same text, a deletion twice is one tombstone, a reaction
added twice is there once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger

from mayachat.chat import SCHEMA_VERSION, append_or_unavailable
from mayachat.codec import encode
from mayachat.delivery import Delivery
from mayachat.errors import ChatError, ErrorCode
from mayachat.frames import ActionAck
from mayachat.log_names import STABLE_SEQ_HEADER
from mayachat.membership import Rooms
from mayachat.metrics import Count, Metrics
from mayachat.model import Caller, Change, ChangeKind, Message, RoomType, epoch_ms
from mayachat.ports import (
    Begun,
    ChangeSeqs,
    EventLog,
    LogRecord,
    MessageFacts,
    MessageLookup,
    MessageStates,
)
from mayachat.roles import Role, role_of

logger = Logger(child=True)


@dataclass(frozen=True)
class ChangeRules:
    edit_window_ms: int = 15 * 60 * 1000
    max_reaction_kinds: int = 20  # distinct emoji on one message
    max_reactions_per_user: int = 10  # one user's emoji on one message


def edit_refusal(
    facts: MessageFacts, user_id: str, now_ms: int, rules: ChangeRules
) -> ErrorCode | None:
    """Why `user_id` may not edit the message now, or None."""
    if facts.deleted:
        return ErrorCode.MESSAGE_DELETED
    if facts.sender_id != user_id:
        return ErrorCode.NOT_YOURS
    if facts.content_type != "text":
        return ErrorCode.NOT_EDITABLE
    if now_ms - facts.created_at_ms > rules.edit_window_ms:
        return ErrorCode.EDIT_WINDOW_PASSED
    return None


def reaction_refusal(
    facts: MessageFacts, user_id: str, emoji: str, rules: ChangeRules
) -> ErrorCode | None:
    """Why `user_id` may not add `emoji` to the message, or None (taking one back always
    works). Adding one already there is no refusal: it is there once."""
    if facts.deleted:
        return ErrorCode.MESSAGE_DELETED
    if user_id in facts.reactions.get(emoji, ()):
        return None
    if emoji not in facts.reactions and len(facts.reactions) >= rules.max_reaction_kinds:
        return ErrorCode.TOO_MANY_REACTIONS
    mine = sum(1 for users in facts.reactions.values() if user_id in users)
    if mine >= rules.max_reactions_per_user:
        return ErrorCode.TOO_MANY_REACTIONS
    return None


_REASONS = {
    ErrorCode.MESSAGE_DELETED: "the message was deleted",
    ErrorCode.NOT_YOURS: "only its sender may edit a message",
    ErrorCode.NOT_EDITABLE: "only text messages can be edited",
    ErrorCode.EDIT_WINDOW_PASSED: "the edit window has passed",
}


def _refused(
    code: ErrorCode, reason: str, message_id: str, retry_after: float | None = None
) -> ChatError:
    return ChatError(code, reason, message_id=message_id, retry_after=retry_after)


def facts_of(message: Message) -> MessageFacts:
    return MessageFacts(
        sender_id=message.sender_id,
        created_at_ms=epoch_ms(message.created_at),
        content_type=str(message.content.get("type", "text")),
        client_msg_id=message.client_msg_id,
        deleted=message.deleted,
        version=message.version,
        reactions=message.reactions,
    )


@dataclass
class MessageActions:
    topic: str
    rooms: Rooms
    seqs: ChangeSeqs
    states: MessageStates
    lookup: MessageLookup
    log: EventLog
    delivery: Delivery
    metrics: Metrics
    rules: ChangeRules

    def edit(
        self, caller: Caller, room_id: str, message_id: str, content: dict[str, Any]
    ) -> ActionAck | None:
        members = self.rooms.require_member(caller, room_id, message_id=message_id)
        begun = self._begin(room_id, message_id)
        refusal = edit_refusal(begun.facts, caller.user_id, begun.now_ms, self.rules)
        if refusal:
            raise _refused(refusal, _REASONS[refusal], message_id)
        change = Change(ChangeKind.EDIT, room_id, message_id, caller.user_id, 0, content=content)
        return self._make(caller, members, change, begun.facts, "editMessage")

    def delete(self, caller: Caller, room_id: str, message_id: str) -> ActionAck | None:
        members = self.rooms.require_member(caller, room_id, message_id=message_id)
        begun = self._begin(room_id, message_id)
        # Deleting a deleted message is logged again (the first may not have reached the log).
        if begun.facts.sender_id != caller.user_id and not self._moderates(caller, room_id):
            raise _refused(
                ErrorCode.NOT_YOURS,
                "only its sender, or an owner or admin of the group, may delete a message",
                message_id,
            )
        change = Change(ChangeKind.DELETE, room_id, message_id, caller.user_id, 0)
        return self._make(caller, members, change, begun.facts, "deleteMessage")

    def react(
        self, caller: Caller, room_id: str, message_id: str, emoji: str, added: bool
    ) -> ActionAck | None:
        members = self.rooms.require_member(caller, room_id, message_id=message_id)
        begun = self._begin(room_id, message_id)
        if added:
            refusal = reaction_refusal(begun.facts, caller.user_id, emoji, self.rules)
            if refusal == ErrorCode.TOO_MANY_REACTIONS:
                raise _refused(
                    refusal,
                    f"at most {self.rules.max_reaction_kinds} kinds of reaction per message, "
                    f"{self.rules.max_reactions_per_user} of them yours",
                    message_id,
                )
            if refusal:
                raise _refused(refusal, _REASONS[refusal], message_id)
        elif begun.facts.deleted:
            raise _refused(
                ErrorCode.MESSAGE_DELETED, _REASONS[ErrorCode.MESSAGE_DELETED], message_id
            )
        change = Change(
            ChangeKind.REACT,
            room_id,
            message_id,
            caller.user_id,
            0,
            emoji=emoji,
            added=added,
        )
        return self._make(caller, members, change, begun.facts, "react")

    def _begin(self, room_id: str, message_id: str) -> Begun:
        begun = self.states.begin(room_id, message_id)
        if begun is not None:
            return begun
        message = self.lookup.message(message_id)
        if message is None or message.room_id != room_id:
            raise _refused(
                ErrorCode.UNKNOWN_MESSAGE,
                f"no message {message_id} in room {room_id} (one sent a moment ago may not be "
                "stored yet: retry)",
                message_id,
                retry_after=1.0,
            )
        self.states.seed(room_id, message_id, facts_of(message))
        begun = self.states.begin(room_id, message_id)
        if begun is None:  # expired between the two calls: only with a TTL of seconds
            raise ChatError(
                ErrorCode.UNAVAILABLE,
                "the message's state is being rebuilt; retry",
                message_id=message_id,
            )
        return begun

    def _moderates(self, caller: Caller, room_id: str) -> bool:
        room = self.lookup.room(room_id)
        return (
            room is not None
            and room.type is RoomType.GROUP
            and role_of(room, caller.user_id) in (Role.OWNER, Role.ADMIN)
        )

    def _make(
        self,
        caller: Caller,
        members: frozenset[str],
        draft: Change,
        facts: MessageFacts,
        action: str,
    ) -> ActionAck | None:
        """Take its seq, log it (then it is acked, whatever fails after), settle the seq,
        apply it to the facts, tell the room."""
        ticket = self.seqs.take(draft.room_id)
        change = replace(draft, version=ticket.seq)
        append_or_unavailable(
            self.log,
            change_record(self.topic, change, ticket.stable_once_logged()),
            message_id=change.message_id,
        )
        self.metrics.count(Count.MESSAGES_CHANGED)
        ack = change.ack(action)
        try:
            self.seqs.settle(change.room_id, ticket)
            counts = self.states.apply(change, facts)
            posted = self.delivery.to_members(
                members,
                change.to_wire(counts if change.kind is ChangeKind.REACT else None),
                exclude={caller.connection_id},
                reply=(caller.connection_id, ack),
                what=change.kind.value,
                room_id=change.room_id,
            )
        except Exception:
            # Like a message's: an unsettled seq is given up in time (the stable seq waits
            # that long), and members see the change when they catch up.
            logger.exception(
                "logged, but not settled, applied to Redis or told to the room; acking anyway",
                extra={"messageId": change.message_id, "kind": change.kind.value},
            )
            posted = False
        logger.info(
            "message changed",
            extra={
                "messageId": change.message_id,
                "roomId": change.room_id,
                "kind": change.kind.value,
                "seq": change.version,
            },
        )
        return None if posted else ack


def change_record(topic: str, change: Change, stable: int | None) -> LogRecord:
    headers = {
        "eventType": change.kind.value,
        "schemaVersion": SCHEMA_VERSION,
        "messageId": change.message_id,
    }
    if stable is not None:
        headers[STABLE_SEQ_HEADER] = str(stable)
    # The log's pydantic schema, imported at the first change rather than at cold start (the
    # frame models load at the first frame too): the function's init pays for no pydantic.
    from mayachat.log_schema import WireChange

    return LogRecord(
        topic=topic,
        key=change.room_id,
        value=encode(WireChange.of(change).model_dump(exclude_none=True)),
        headers=headers,
    )
