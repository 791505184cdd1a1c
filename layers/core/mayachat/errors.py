"""Every way a frame or request can be refused, with the stable code clients switch on."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"  # the frame is not JSON
    NOT_AN_OBJECT = "not_an_object"  # JSON, but not an object
    UNKNOWN_ACTION = "unknown_action"  # no `action`, or one we do not have
    INVALID_FIELD = "invalid_field"  # a field is missing or has the wrong type or format
    TOO_LONG = "too_long"  # the text is over the length limit
    FRAME_TOO_LARGE = "frame_too_large"  # the whole frame is over the size limit
    NOT_A_MEMBER = "not_a_member"  # the room does not exist or the caller is not in it
    INVALID_SEQ = "invalid_seq"  # a cursor beyond the room's latest message
    RATE_LIMITED = "rate_limited"  # too many frames (this connection's or the user's); slow down
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a code, not a secret: the socket closes
    TOO_MANY_CONNECTIONS = "too_many_connections"  # $connect: the user has the most open
    UNKNOWN_MESSAGE = "unknown_message"  # no such message in the room (just sent: retry soon)
    NOT_YOURS = "not_yours"  # edit: not the sender; delete: not the sender, an owner or admin
    EDIT_WINDOW_PASSED = "edit_window_passed"  # older than the edit window
    NOT_EDITABLE = "not_editable"  # only text messages are edited
    MESSAGE_DELETED = "message_deleted"  # it was deleted: no edits or reactions
    TOO_MANY_REACTIONS = "too_many_reactions"  # the message's kinds, or the user's, are at most
    UNAVAILABLE = "unavailable"  # the log (Kafka) did not take the message: retry
    INTERNAL = "internal_error"  # a bug: logged with the request id


class ChatError(Exception):
    """A refusal the client can act on; it becomes an error frame or a 4xx."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        client_msg_id: str | None = None,
        message_id: str | None = None,
        retry_after: float | None = None,
        closes: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_msg_id = client_msg_id
        self.message_id = message_id  # the message an edit, delete or reaction named
        self.retry_after = retry_after  # seconds, when waiting that long makes a retry work
        self.closes = closes  # the server closes the connection after telling the client


class NotFound(Exception):
    """No such thing, or not one the caller may see (rooms they are not in look absent)."""


class Forbidden(Exception):
    """The caller is known to be in the room but may not do this; `code` says which rule."""

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(message)
        self.code = code


class Invalid(ValueError):
    """The request is well-formed but breaks a rule (e.g. adding members to a direct room)."""
