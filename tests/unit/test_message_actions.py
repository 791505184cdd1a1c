"""Edits, deletions and reactions: the rules (pure), and persist applying their log records in
any order, any number of times, to the same end state."""

from __future__ import annotations

import pytest

from mayachat.errors import ErrorCode
from mayachat.message_actions import ChangeRules, change_record, edit_refusal, reaction_refusal
from mayachat.model import DELETED_CONTENT, Change, ChangeKind, Message
from mayachat.persistence import IncomingRecord, Outcome, Persister
from mayachat.ports import MessageFacts
from tests.fakes import FakeDeadLetters, FakeMetrics, FakeStore
from tests.unit.test_persistence import EVENTS, MESSAGES, as_record

RULES = ChangeRules(edit_window_ms=60_000, max_reaction_kinds=3, max_reactions_per_user=2)
FACTS = MessageFacts(
    sender_id="alice", created_at_ms=1_000_000, content_type="text", client_msg_id="c"
)


@pytest.mark.parametrize(
    ("facts", "user", "now", "refusal"),
    [
        (FACTS, "alice", 1_000_000 + 60_000, None),
        (FACTS, "bob", 1_000_001, ErrorCode.NOT_YOURS),
        (FACTS, "alice", 1_000_000 + 60_001, ErrorCode.EDIT_WINDOW_PASSED),
        (
            MessageFacts("alice", 1_000_000, "image", "c"),
            "alice",
            1_000_001,
            ErrorCode.NOT_EDITABLE,
        ),
        (
            MessageFacts("alice", 1_000_000, "text", "c", deleted=True),
            "alice",
            1_000_001,
            ErrorCode.MESSAGE_DELETED,
        ),
    ],
)
def test_who_may_edit_and_when(
    facts: MessageFacts, user: str, now: int, refusal: ErrorCode | None
) -> None:
    assert edit_refusal(facts, user, now, RULES) == refusal


def test_reactions_are_bounded_per_message_and_per_user() -> None:
    full = MessageFacts(
        "alice", 0, "text", "c", reactions={"👍": ["bob"], "😂": ["bob"], "🎉": ["carol"]}
    )
    assert reaction_refusal(full, "carol", "🙈", RULES) is ErrorCode.TOO_MANY_REACTIONS  # kinds
    assert reaction_refusal(full, "carol", "👍", RULES) is None  # a kind already there
    assert reaction_refusal(full, "bob", "🎉", RULES) is ErrorCode.TOO_MANY_REACTIONS  # his two
    assert reaction_refusal(full, "bob", "👍", RULES) is None  # his own again: there once
    gone = MessageFacts("alice", 0, "text", "c", deleted=True)
    assert reaction_refusal(gone, "bob", "👍", RULES) is ErrorCode.MESSAGE_DELETED


def _original() -> Message:
    return Message(
        "01JDQ7Z8K3M4N5P6Q7R8S9T0VW",
        "r1",
        1,
        "alice",
        "c1",
        {"type": "text", "text": "helo"},
        "2026-12-02T10:00:00.000Z",
    )


def _record(offset: int, change: Change) -> IncomingRecord:
    logged = change_record(MESSAGES, change, None)
    headers = {k: v.encode() for k, v in logged.headers.items()}
    return IncomingRecord(MESSAGES, 0, offset, b"r1", logged.value, headers)


def _persist(*records: IncomingRecord) -> tuple[list[Outcome], FakeStore]:
    store = FakeStore()
    persister = Persister(MESSAGES, EVENTS, store, FakeDeadLetters(), FakeMetrics())
    return persister.persist(list(records)), store


def _edit(seq: int, text: str) -> Change:
    return Change(
        ChangeKind.EDIT,
        "r1",
        _original().message_id,
        "alice",
        seq,
        content={"type": "text", "text": text},
    )


def _react(seq: int, added: bool) -> Change:
    return Change(
        ChangeKind.REACT, "r1", _original().message_id, "bob", seq, emoji="👍", added=added
    )


def test_a_late_or_repeated_change_never_undoes_a_newer_one() -> None:
    newer, older = _edit(3, "hello"), _edit(2, "hallo")
    outcomes, store = _persist(
        as_record(0, _original()), _record(1, newer), _record(2, older), _record(3, newer)
    )
    assert outcomes == [Outcome.DONE] * 4
    stored = store.messages[_original().message_id]
    assert (stored.content["text"], stored.version) == ("hello", 3)
    # A reaction taken back, then its older add delivered again: it stays taken back.
    _, store = _persist(
        as_record(0, _original()), _record(1, _react(5, False)), _record(2, _react(4, True))
    )
    assert store.messages[_original().message_id].reactions == {}


def test_a_deletion_is_final_and_keeps_no_content() -> None:
    delete = Change(ChangeKind.DELETE, "r1", _original().message_id, "alice", 4)
    _, store = _persist(
        as_record(0, _original()),
        _record(1, _react(2, True)),
        _record(2, delete),
        _record(3, _edit(5, "back")),
    )
    stored = store.messages[_original().message_id]
    assert (stored.content, stored.deleted, stored.reactions) == (DELETED_CONTENT, True, {})


def test_a_change_before_its_message_is_stored_waits_and_a_bad_one_is_dead_lettered() -> None:
    outcomes, _ = _persist(_record(0, _edit(2, "early")))
    assert outcomes == [Outcome.RETRY]
    logged = change_record(MESSAGES, _edit(2, "x"), None)
    broken = IncomingRecord(
        MESSAGES,
        0,
        1,
        b"r1",
        logged.value.replace(b'"text":"x"', b'"text":""'),
        {"eventType": b"message.edited"},
    )
    outcomes, _ = _persist(broken)
    assert outcomes == [Outcome.DEAD_LETTERED]


class _Keeper:
    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.kept: list[str] = []
        self.forgotten: list[str] = []

    def keep(self, room_id: str, attachment_id: str) -> None:
        if self.failing:
            raise ConnectionError("S3 is down")
        self.kept.append(attachment_id)

    def forget(self, room_id: str, attachment_id: str) -> None:
        if self.failing:
            raise ConnectionError("S3 is down")
        self.forgotten.append(attachment_id)


def test_an_upload_is_kept_when_sent_and_forgotten_before_its_tombstone() -> None:
    photo = Message(
        "01JDQ7Z8K3M4N5P6Q7R8S9T0VX",
        "r1",
        1,
        "alice",
        "c1",
        {
            "type": "image",
            "attachmentId": "01JDQ7Z8K3M4N5P6Q7R8S9T0VY",
            "name": "a.png",
            "size": 3,
            "mimeType": "image/png",
        },
        "2026-12-02T10:00:00.000Z",
    )
    delete = Change(ChangeKind.DELETE, "r1", photo.message_id, "alice", 2)
    store, keeper = FakeStore(), _Keeper()
    persister = Persister(MESSAGES, EVENTS, store, FakeDeadLetters(), FakeMetrics(), keeper)
    assert persister.persist([as_record(0, photo)]) == [Outcome.DONE]
    assert keeper.kept == ["01JDQ7Z8K3M4N5P6Q7R8S9T0VY"]
    keeper.failing = True  # S3 down: the deletion waits, the message keeps its content
    assert persister.persist([_record(1, delete)]) == [Outcome.RETRY]
    assert not store.messages[photo.message_id].deleted
    keeper.failing = False
    assert persister.persist([_record(1, delete)]) == [Outcome.DONE]
    assert keeper.forgotten == ["01JDQ7Z8K3M4N5P6Q7R8S9T0VY"]
    assert store.messages[photo.message_id].deleted
