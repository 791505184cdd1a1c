"""Every class of bad frame gets its stable error code; good frames become typed commands."""

from __future__ import annotations

import pytest

from mayachat.errors import ChatError, ErrorCode
from mayachat.ids import new_message_id
from mayachat.protocol import (
    EditMessageFrame,
    MarkFrame,
    ReactFrame,
    SendMessageFrame,
    SyncFrame,
    TypingFrame,
    decode_body,
    error_frame,
    parse_frame,
)

SEND = {
    "action": "sendMessage",
    "roomId": "r1",
    "clientMsgId": "c-1",
    "content": {"type": "text", "text": "hi"},
}


def refused(body: str | None, model: type = SendMessageFrame, max_text: int = 10) -> ChatError:
    with pytest.raises(ChatError) as caught:
        parse_frame(model, decode_body(body, 1024), max_text=max_text)
    return caught.value


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", ErrorCode.INVALID_JSON),
        ("", ErrorCode.INVALID_JSON),
        (None, ErrorCode.INVALID_JSON),
        ("[1, 2]", ErrorCode.NOT_AN_OBJECT),
        ('"sendMessage"', ErrorCode.NOT_AN_OBJECT),
        ("x" * 2000, ErrorCode.FRAME_TOO_LARGE),
    ],
)
def test_undecodable_frames(body: str | None, code: ErrorCode) -> None:
    assert refused(body).code is code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"roomId": None}, "roomId"),
        ({"roomId": 7}, "roomId"),
        ({"roomId": "has space"}, "roomId"),
        ({"roomId": {"$gt": ""}}, "roomId"),
        ({"clientMsgId": ""}, "clientMsgId"),
        ({"content": "hi"}, "content"),
        ({"content": {"type": "video", "text": "hi"}}, "content"),
        ({"content": {"type": "image", "text": "hi"}}, "content.attachmentId"),
        ({"content": {"type": "text", "text": ""}}, "content.text"),
        ({"content": {"type": "text", "text": 5}}, "content.text"),
    ],
)
def test_missing_or_mistyped_fields_name_the_field(change: dict[str, object], field: str) -> None:
    import json

    frame = {**SEND, **change}
    if change.get("roomId", "") is None:
        del frame["roomId"]
    error = refused(json.dumps(frame))
    assert error.code is ErrorCode.INVALID_FIELD
    assert error.message.startswith(field)
    assert error.client_msg_id == (frame.get("clientMsgId") or None)


def test_text_over_the_limit_is_too_long_and_keeps_the_client_msg_id() -> None:
    import json

    error = refused(json.dumps({**SEND, "content": {"type": "text", "text": "x" * 11}}))
    assert error.code is ErrorCode.TOO_LONG
    assert error_frame(error) == {
        "type": "error",
        "code": "too_long",
        "message": error.message,
        "clientMsgId": "c-1",
    }


def test_strict_types_refuse_coercion() -> None:
    assert (
        refused('{"action":"typing","roomId":"r","isTyping":"yes"}', TypingFrame).code
        is ErrorCode.INVALID_FIELD
    )
    assert (
        refused('{"action":"markRead","roomId":"r","upToSeq":"3"}', MarkFrame).code
        is ErrorCode.INVALID_FIELD
    )
    assert (
        refused('{"action":"markRead","roomId":"r","upToSeq":-1}', MarkFrame).code
        is ErrorCode.INVALID_FIELD
    )


def test_good_frames_parse_and_extra_fields_are_ignored() -> None:
    frame = parse_frame(SendMessageFrame, {**SEND, "future": True}, max_text=10)
    assert (frame.roomId, frame.clientMsgId, frame.content.text) == ("r1", "c-1", "hi")
    sync = parse_frame(SyncFrame, {"action": "sync", "roomId": "r1", "afterSeq": 0}, max_text=10)
    assert (sync.afterSeq, sync.limit) == (0, None)


def test_message_ids_sort_by_time() -> None:
    earlier, later = new_message_id(1_700_000_000_000), new_message_id(1_700_000_000_001)
    assert len(earlier) == 26
    assert earlier < later
    assert new_message_id() != new_message_id()


def test_an_error_log_holds_no_text_token_or_ip() -> None:
    import json as _json
    from pathlib import Path

    from mayachat.edge.websocket import redacted

    events = Path(__file__).resolve().parents[1] / "events"
    for name in ("ws_send_message.json", "ws_connect.json"):
        event = _json.loads((events / name).read_text())
        logged = _json.dumps(redacted(event))
        assert "Hello from the sample event" not in logged
        assert "203.0.113.7" not in logged  # the sample's sourceIp
        assert "token=" not in logged
        assert "eyJ" not in logged  # no JWT
        assert redacted(event)["requestContext"]["connectionId"]  # the ids stay


@pytest.mark.parametrize(
    ("emoji", "accepted"),
    [
        ("👍", True),
        ("👍🏽", True),  # a skin tone
        ("👨‍👩‍👧‍👦", True),  # a ZWJ family
        ("🇫🇷", True),  # a flag: two regional indicators
        ("❤️", True),  # with its variation selector
        ("👍👍", False),  # two of them
        ("ok", False),
        ("👍 ", False),
        ("", False),
    ],
)
def test_a_reaction_is_one_emoji(emoji: str, accepted: bool) -> None:
    frame = {
        "action": "react",
        "roomId": "r1",
        "messageId": "01JDQ7Z8K3M4N5P6Q7R8S9T0VW",
        "emoji": emoji,
        "op": "add",
    }
    if accepted:
        assert parse_frame(ReactFrame, frame, max_text=100).emoji == emoji
        return
    with pytest.raises(ChatError) as refused:
        parse_frame(ReactFrame, frame, max_text=100)
    assert refused.value.code is ErrorCode.INVALID_FIELD
    assert refused.value.message_id == frame["messageId"]  # the error names the message


def test_an_edit_is_text_within_the_limit_and_its_refusal_names_the_message() -> None:
    frame = {
        "action": "editMessage",
        "roomId": "r1",
        "messageId": "01JDQ7Z8K3M4N5P6Q7R8S9T0VW",
        "content": {"type": "text", "text": "x" * 101},
    }
    with pytest.raises(ChatError) as refused:
        parse_frame(EditMessageFrame, frame, max_text=100)
    assert (refused.value.code, refused.value.message_id) == (
        ErrorCode.TOO_LONG,
        frame["messageId"],
    )
    image = {**frame, "content": {"type": "image", "attachmentId": frame["messageId"]}}
    with pytest.raises(ChatError) as not_text:
        parse_frame(EditMessageFrame, image, max_text=100)
    assert not_text.value.code is ErrorCode.INVALID_FIELD
