"""Attachments over REST, against the real MongoDB and the local AWS server's bucket: members
get an upload form and a download URL, everyone else a 404; what the rules refuse is a 422
that says why. (What S3 itself refuses: test_s3_attachments.py.)"""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from tests.integration.test_rest_api import Auth, create_room, users

PHOTO = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


def _ticket(rest: TestClient, auth: Auth, user: str, room: str, **body: object) -> httpx.Response:
    body = {"name": "cat.png", "mimeType": "image/png", "size": len(PHOTO), **body}
    answer: httpx.Response = rest.post(
        f"/api/rooms/{room}/attachments", json=body, headers=auth(user)
    )
    return answer


def test_a_member_uploads_and_another_downloads_it(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    answer = _ticket(rest, auth, alice, room)
    assert answer.status_code == 201, answer.text
    ticket = answer.json()
    assert (ticket["expiresIn"], ticket["maxBytes"]) == (300, len(PHOTO))
    form = ticket["upload"]["fields"]
    assert form["key"] == f"rooms/{room}/{ticket['attachmentId']}"
    assert form["Content-Type"] == "image/png"
    sent = httpx.post(
        ticket["upload"]["url"], data=form, files={"file": ("cat.png", PHOTO, "image/png")}
    )
    assert sent.is_success, sent.text

    got = rest.get(f"/api/rooms/{room}/attachments/{ticket['attachmentId']}", headers=auth(bob))
    assert got.status_code == 200, got.text
    link = got.json()
    assert (link["mimeType"], link["size"], link["expiresIn"]) == ("image/png", len(PHOTO), 300)
    assert httpx.get(link["url"]).content == PHOTO


def test_nobody_but_a_member_learns_anything(rest: TestClient, auth: Auth) -> None:
    alice, bob, eve = users("alice", "bob", "eve")
    room = create_room(rest, auth, alice, [bob])
    attachment = _ticket(rest, auth, alice, room).json()["attachmentId"]
    assert _ticket(rest, auth, eve, room).status_code == 404
    assert _ticket(rest, auth, eve, "no-such-room").status_code == 404
    path = f"/api/rooms/{room}/attachments/{attachment}"
    assert rest.get(path, headers=auth(eve)).status_code == 404
    assert rest.get(path).status_code == 401


def test_an_attachment_never_uploaded_is_a_404(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    attachment = _ticket(rest, auth, alice, room).json()["attachmentId"]  # form never sent
    missing = rest.get(f"/api/rooms/{room}/attachments/{attachment}", headers=auth(bob))
    assert missing.status_code == 404
    assert "attachment" in missing.json()["detail"]
    bad_id = rest.get(f"/api/rooms/{room}/attachments/not-a-ulid", headers=auth(bob))
    assert bad_id.status_code == 422


def test_what_the_rules_refuse_is_a_422_saying_why(rest: TestClient, auth: Auth) -> None:
    alice, bob = users("alice", "bob")
    room = create_room(rest, auth, alice, [bob])
    refusals: list[tuple[dict[str, object], str]] = [
        ({"mimeType": "text/html"}, "mimeType: 'text/html' is not accepted"),
        ({"size": 25 * 1024 * 1024 + 1}, "over the limit of 26214400 bytes"),
        ({"size": 0}, "size"),
        ({"size": "12"}, "size"),  # strict: a number, not a string
        ({"name": "../secrets.png"}, "no path separators"),
        ({"name": ""}, "name"),
        ({"name": {"$gt": ""}}, "name"),
        ({"extra": 1}, "extra"),
    ]
    for body, reason in refusals:
        refused = _ticket(rest, auth, alice, room, **body)
        assert refused.status_code == 422, body
        assert reason in refused.text, (body, refused.text)
    assert _ticket(rest, auth, alice, room, size=25 * 1024 * 1024).status_code == 201
