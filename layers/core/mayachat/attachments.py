"""Photos and files in chat: uploaded by a room's member straight to object storage (S3)
through a presigned POST, read back by the room's members through a short-lived URL.

The function never carries the bytes: it signs a form whose policy lets S3 take exactly one
object, at `rooms/{roomId}/{attachmentId}`, of the declared type and at most the declared
size (S3 refuses anything else). A message then refers to it by `attachmentId` in the same
room; the persist function keeps what was sent and forgets what was deleted, and S3 expires
uploads never sent (their `state=pending` tag) after a day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from mayachat.errors import ChatError, ErrorCode, Invalid, NotFound
from mayachat.ids import new_message_id
from mayachat.ports import ChatReads

MAX_NAME_LENGTH = 255
# Path separators could make a saved file land outside the folder it is saved to; control
# characters break headers (Content-Disposition) and confuse what a user reads.
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Upload:
    """What a member asked to upload, checked (`AttachmentRules.check`)."""

    room_id: str
    attachment_id: str
    name: str
    mime_type: str
    size: int


@dataclass(frozen=True)
class UploadTicket:
    """A presigned POST: send `fields` and then the file (`file`, last) to `url`."""

    attachment_id: str
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int


@dataclass(frozen=True)
class Attachment:
    """A stored attachment, and a URL that reads it for a short while."""

    attachment_id: str
    url: str
    expires_in: int
    mime_type: str
    size: int


class StoreUnavailable(Exception):
    """The object store did not answer, or answered that it is overloaded: retry later."""


class AttachmentStore(Protocol):
    """Object storage for attachments (S3). Every method raises StoreUnavailable when the
    store is unreachable, timing out or overloaded."""

    def upload(self, upload: Upload, expires_in: int) -> tuple[str, dict[str, str]]:
        """The URL and form fields of a presigned POST that stores exactly this upload:
        its key, its type, 1 to `upload.size` bytes, tagged pending."""
        ...

    def download_url(
        self, room_id: str, attachment_id: str, expires_in: int
    ) -> tuple[str, str, int] | None:
        """(a presigned GET URL, its type, its size), or None when nothing was uploaded."""
        ...

    def keep(self, room_id: str, attachment_id: str) -> None:
        """It was sent in a message: never expire it. A missing object is fine (idempotent)."""
        ...

    def forget(self, room_id: str, attachment_id: str) -> None:
        """Its message was deleted: delete it. A missing object is fine (idempotent)."""
        ...


@dataclass(frozen=True)
class AttachmentRules:
    allowed_types: frozenset[str]
    max_bytes: int

    @classmethod
    def of(cls, types: Iterable[str], max_bytes: int) -> AttachmentRules:
        return cls(frozenset(t.strip().lower() for t in types if t.strip()), max_bytes)

    def check(self, room_id: str, name: str, mime_type: str, size: int) -> Upload:
        """The upload, with a new id; Invalid (a 422) naming what is wrong."""
        if not 1 <= len(name) <= MAX_NAME_LENGTH or name in (".", ".."):
            raise Invalid(f"name: 1 to {MAX_NAME_LENGTH} characters")
        if _UNSAFE_NAME.search(name):
            raise Invalid("name: no path separators (/ \\) or control characters")
        mime_type = mime_type.strip().lower()
        if mime_type not in self.allowed_types:
            allowed = ", ".join(sorted(self.allowed_types))
            raise Invalid(f"mimeType: {mime_type!r} is not accepted; one of {allowed}")
        if size < 1:
            raise Invalid("size: at least 1 byte")
        if size > self.max_bytes:
            raise Invalid(f"size: {size} bytes is over the limit of {self.max_bytes} bytes")
        return Upload(room_id, new_message_id(), name, mime_type, size)


@dataclass
class Attachments:
    """Uploads and downloads over REST, for the room's members only (others get 404)."""

    reads: ChatReads
    store: AttachmentStore
    rules: AttachmentRules
    url_seconds: int

    def upload(
        self, user_id: str, room_id: str, name: str, mime_type: str, size: int
    ) -> UploadTicket:
        self._member(user_id, room_id)
        upload = self.rules.check(room_id, name, mime_type, size)
        with _retryable():
            url, fields = self.store.upload(upload, self.url_seconds)
        return UploadTicket(upload.attachment_id, url, fields, self.url_seconds, upload.size)

    def download(self, user_id: str, room_id: str, attachment_id: str) -> Attachment:
        self._member(user_id, room_id)
        with _retryable():
            found = self.store.download_url(room_id, attachment_id, self.url_seconds)
        if found is None:
            raise NotFound("attachment")
        url, mime_type, size = found
        return Attachment(attachment_id, url, self.url_seconds, mime_type, size)

    def _member(self, user_id: str, room_id: str) -> None:
        # catch_up.room_of_member's rule (a room one is not in looks absent), not its import:
        # that brings the WebSocket side (mayachat.chat), which the persist function, the
        # other user of this module, never loads.
        room = self.reads.room(room_id)
        if room is None or user_id not in room.members:
            raise NotFound(f"room {room_id}")


@contextmanager
def _retryable() -> Iterator[None]:
    """The store down is the client's `unavailable` (503, Retry-After), never a 500."""
    try:
        yield
    except StoreUnavailable as exc:
        raise ChatError(ErrorCode.UNAVAILABLE, f"attachments: {exc}; retry", retry_after=2) from exc
