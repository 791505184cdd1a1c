"""Attachments' rules without S3: what may be uploaded, who may upload and download, what a
store outage looks like to the client; and the bucket's lifecycle reads the adapter's tag."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mayachat.adapters.s3_attachments import PENDING, PENDING_TAGGING, STATE_TAG, object_key
from mayachat.attachments import (
    AttachmentRules,
    Attachments,
    StoreUnavailable,
    Upload,
)
from mayachat.errors import ChatError, ErrorCode, Invalid, NotFound
from mayachat.fields import MESSAGE_ID_PATTERN
from mayachat.model import Room, RoomType
from mayachat.settings import Settings
from mayachat_local.runtime.template import load_template
from tests.fakes import FakeRoomStore

MAX = 1000
TYPES = ("image/jpeg", "application/pdf")


@dataclass
class FakeStore:
    """Objects by (room, id): (type, size), as S3 would hold them after an upload."""

    objects: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    uploads: list[tuple[Upload, int]] = field(default_factory=list)
    down: bool = False

    def upload(self, upload: Upload, expires_in: int) -> tuple[str, dict[str, str]]:
        self._maybe_down()
        self.uploads.append((upload, expires_in))
        key = object_key(upload.room_id, upload.attachment_id)
        return "https://s3.example/bucket", {"key": key, "Content-Type": upload.mime_type}

    def download_url(
        self, room_id: str, attachment_id: str, expires_in: int
    ) -> tuple[str, str, int] | None:
        self._maybe_down()
        found = self.objects.get((room_id, attachment_id))
        if found is None:
            return None
        return f"https://s3.example/{object_key(room_id, attachment_id)}?e={expires_in}", *found

    def keep(self, room_id: str, attachment_id: str) -> None: ...

    def forget(self, room_id: str, attachment_id: str) -> None:
        self.objects.pop((room_id, attachment_id), None)

    def _maybe_down(self) -> None:
        if self.down:
            raise StoreUnavailable("S3 SlowDown")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def service(store: FakeStore) -> Attachments:
    rooms = FakeRoomStore()
    rooms.rooms_by_id["r1"] = Room(
        "r1", RoomType.GROUP, ("alice", "bob"), "alice", datetime.now(UTC)
    )
    return Attachments(rooms, store, AttachmentRules.of(TYPES, MAX), url_seconds=300)


def rules() -> AttachmentRules:
    return AttachmentRules.of(TYPES, MAX)


def test_an_accepted_upload_gets_a_new_ulid_and_its_type_in_lower_case() -> None:
    first = rules().check("r1", "Photo 1.JPG", "Image/JPEG", 10)
    second = rules().check("r1", "Photo 1.JPG", "image/jpeg", 10)
    assert (first.room_id, first.name, first.mime_type, first.size) == (
        "r1",
        "Photo 1.JPG",
        "image/jpeg",
        10,
    )
    assert re.match(MESSAGE_ID_PATTERN, first.attachment_id)
    assert first.attachment_id != second.attachment_id


@pytest.mark.parametrize(
    ("name", "mime_type", "size", "reason"),
    [
        ("a.html", "text/html", 10, "mimeType: 'text/html' is not accepted"),
        ("a.jpg", "image/jpeg", 0, "size: at least 1 byte"),
        ("a.jpg", "image/jpeg", MAX + 1, f"over the limit of {MAX} bytes"),
        ("../../etc/passwd", "image/jpeg", 10, "no path separators"),
        ("dir\\a.jpg", "image/jpeg", 10, "no path separators"),
        ("a\x00.jpg", "image/jpeg", 10, "control characters"),
        ("a\n.jpg", "image/jpeg", 10, "control characters"),
        ("..", "image/jpeg", 10, "name: 1 to 255 characters"),
        ("", "image/jpeg", 10, "name: 1 to 255 characters"),
        ("x" * 256, "image/jpeg", 10, "name: 1 to 255 characters"),
    ],
)
def test_a_refused_upload_says_why(name: str, mime_type: str, size: int, reason: str) -> None:
    with pytest.raises(Invalid, match=re.escape(reason)):
        rules().check("r1", name, mime_type, size)


def test_the_limit_itself_and_names_in_any_script_are_accepted() -> None:
    assert rules().check("r1", "フォト 📷.jpg", "image/jpeg", MAX).size == MAX
    assert rules().check("r1", "x" * 255, "application/pdf", 1).size == 1


def test_the_default_settings_accept_the_chat_types_up_to_25_mib() -> None:
    s = Settings()
    defaults = AttachmentRules.of(s.attachment_types.split(","), s.attachment_max_bytes)
    assert defaults.max_bytes == 25 * 1024 * 1024
    assert {"image/jpeg", "image/heic", "application/pdf", "video/mp4"} <= defaults.allowed_types
    assert "text/html" not in defaults.allowed_types  # scripts in the bucket's origin
    assert len(defaults.allowed_types) == 11


def test_a_member_gets_an_upload_ticket_for_what_was_checked(
    service: Attachments, store: FakeStore
) -> None:
    ticket = service.upload("bob", "r1", "cat.jpg", "image/jpeg", 123)
    ((upload, expires_in),) = store.uploads
    assert (upload.attachment_id, upload.size, expires_in) == (ticket.attachment_id, 123, 300)
    assert ticket.fields["key"] == f"rooms/r1/{ticket.attachment_id}"
    assert (ticket.expires_in, ticket.max_bytes) == (300, 123)


def test_nobody_but_a_member_uploads_or_downloads(service: Attachments, store: FakeStore) -> None:
    store.objects[("r1", "01JAAAAAAAAAAAAAAAAAAAAAAA")] = ("image/jpeg", 5)
    for room in ("r1", "nowhere"):
        with pytest.raises(NotFound):
            service.upload("eve", room, "cat.jpg", "image/jpeg", 5)
        with pytest.raises(NotFound):
            service.download("eve", room, "01JAAAAAAAAAAAAAAAAAAAAAAA")
    assert store.uploads == []


def test_a_member_downloads_what_was_uploaded_and_only_that(
    service: Attachments, store: FakeStore
) -> None:
    store.objects[("r1", "01JAAAAAAAAAAAAAAAAAAAAAAA")] = ("image/jpeg", 5)
    got = service.download("alice", "r1", "01JAAAAAAAAAAAAAAAAAAAAAAA")
    assert (got.mime_type, got.size, got.expires_in) == ("image/jpeg", 5, 300)
    assert "rooms/r1/01JAAAAAAAAAAAAAAAAAAAAAAA" in got.url
    with pytest.raises(NotFound, match="attachment"):
        service.download("alice", "r1", "01JBBBBBBBBBBBBBBBBBBBBBBB")


def test_a_store_outage_is_unavailable_not_a_bug(service: Attachments, store: FakeStore) -> None:
    store.down = True
    for call in (
        lambda: service.upload("bob", "r1", "cat.jpg", "image/jpeg", 5),
        lambda: service.download("bob", "r1", "01JAAAAAAAAAAAAAAAAAAAAAAA"),
    ):
        with pytest.raises(ChatError) as caught:
            call()
        assert caught.value.code is ErrorCode.UNAVAILABLE


def test_the_bucket_expires_exactly_what_uploads_are_tagged_and_nothing_is_public() -> None:
    template = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
    bucket = template["Resources"]["AttachmentsBucket"]["Properties"]
    rules_by_id = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    expire = rules_by_id["expire-unsent-uploads"]
    assert expire["TagFilters"] == [{"Key": STATE_TAG, "Value": PENDING}]
    assert expire["ExpirationInDays"] == 1
    assert f"<Key>{STATE_TAG}</Key><Value>{PENDING}</Value>" in PENDING_TAGGING
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    # The functions find the bucket where Settings reads it.
    for function in ("RestApiFunction", "PersistFunction"):
        env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["ATTACHMENTS_BUCKET"] == {"Ref": "AttachmentsBucket"}
    assert "attachments_bucket" in {f.name for f in fields(Settings)}
