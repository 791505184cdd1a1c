"""A photo through the whole system: uploaded with a presigned form from REST to the local S3,
sent in a message over the WebSocket, downloaded by another member, kept by persist (tagged
sent, so the bucket's lifecycle never expires it), and gone from the bucket once deleted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import boto3
import httpx

from tests.e2e.conftest import Client, bearer
from tests.e2e.test_message_changes import change

Phone = Callable[[str], Client]
Room = Callable[..., str]
Users = Callable[[str], str]

PHOTO = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 64


def _tags(room: str, attachment: str) -> dict[str, str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    found = s3.get_object_tagging(Bucket="mayachat-attachments", Key=f"rooms/{room}/{attachment}")
    return {t["Key"]: t["Value"] for t in found["TagSet"]}


def test_a_photo_is_sent_downloaded_kept_and_deleted(
    phone: Phone, new_room: Room, users: Users, http: httpx.Client
) -> None:
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    ticket = http.post(
        f"/api/rooms/{room}/attachments",
        json={"name": "cat.png", "mimeType": "image/png", "size": len(PHOTO)},
        headers=bearer(alice.user),
    )
    assert ticket.status_code == 201, ticket.text
    upload = ticket.json()
    form = upload["upload"]
    stored = httpx.post(form["url"], data=form["fields"], files={"file": ("cat.png", PHOTO)})
    assert stored.is_success, stored.text
    attachment = upload["attachmentId"]
    image = {
        "type": "image",
        "attachmentId": attachment,
        "name": "cat.png",
        "size": len(PHOTO),
        "mimeType": "image/png",
        "width": 640,
        "height": 480,
        "text": "my cat",
    }
    alice.send(
        {"action": "sendMessage", "roomId": room, "clientMsgId": "photo-1", "content": image}
    )
    ack = alice.expect("ack", clientMsgId="photo-1")
    assert bob.expect("message")["message"]["content"] == image

    link = http.get(f"/api/rooms/{room}/attachments/{attachment}", headers=bearer(bob.user))
    assert link.status_code == 200, link.text
    assert httpx.get(link.json()["url"]).content == PHOTO
    outsider = http.get(f"/api/rooms/{room}/attachments/{attachment}", headers=bearer(users("eve")))
    assert outsider.status_code == 404

    (stored,) = phone(bob.user).catch_up(room, 0)  # stored: persist kept the upload
    assert stored["content"] == image
    assert _tags(room, attachment).get("state") == "sent"

    refused = change(
        alice, "editMessage", room, ack["messageId"], content={"type": "text", "text": "x"}
    )
    assert refused["code"] == "not_editable"
    assert change(alice, "deleteMessage", room, ack["messageId"])["type"] == "ack"
    deadline = time.monotonic() + 20
    while True:
        gone = http.get(f"/api/rooms/{room}/attachments/{attachment}", headers=bearer(bob.user))
        if gone.status_code == 404:
            break
        assert time.monotonic() < deadline, "the deleted message's photo is still there"
        time.sleep(0.2)
