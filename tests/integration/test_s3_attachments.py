"""The S3 attachments adapter against real local servers: bytes go up through the presigned
POST and come back through the presigned GET; S3 itself refuses what the policy does not
allow; keep() tags an upload sent and forget() deletes it.

Two servers, because neither does all of it: moto's S3 (the local stack's AWS) has tagging
but stores whatever a POST sends, reading neither its policy nor its signature; s3s-fs
(services/s3s.py) enforces the policy and the signature as S3 does, but has no tagging. So
the refusals are tested on s3s, keep() on moto, the round trip on both. That the upload
form's `tagging` field tags the object `state=pending` is S3's documented behaviour that
neither server shows (moto ignores the field, s3s cannot tag): what is tested is that the
policy pins that field, so an upload without it is refused.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from mayachat.adapters.s3_attachments import SENT, S3Attachments
from mayachat.attachments import AttachmentRules, Upload
from mayachat.settings import Settings
from mayachat_local.config import StackConfig
from mayachat_local.services.s3s import BUCKET, S3sService
from mayachat_local.stack import up

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
RULES = AttachmentRules.of(["image/jpeg", "text/plain"], 10_000)


@pytest.fixture(scope="module")
def moto_s3(aws_endpoint: str) -> Any:
    return boto3.client("s3", config=Config(s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def s3s(stack_config: StackConfig) -> Any:
    up(stack_config, ["s3s"])
    return S3sService(stack_config).client()


@pytest.fixture(scope="module")
def on_moto(moto_s3: Any) -> S3Attachments:
    return S3Attachments(moto_s3, Settings().attachments_bucket)  # made by the local stack


@pytest.fixture(scope="module")
def on_s3s(s3s: Any) -> S3Attachments:
    return S3Attachments(s3s, BUCKET)


@pytest.fixture(params=["moto", "s3s"])
def store(request: pytest.FixtureRequest) -> S3Attachments:
    found: S3Attachments = request.getfixturevalue(f"on_{request.param}")
    return found


def _upload(size: int = len(JPEG), mime_type: str = "image/jpeg", room: str = "r1") -> Upload:
    return RULES.check(room, "holiday photo.jpg", mime_type, size)


def _post(
    url: str, fields: dict[str, str], data: bytes, mime_type: str = "image/jpeg"
) -> httpx.Response:
    """As a phone or a browser sends the form: the fields, then the file, last."""
    return httpx.post(url, data=fields, files={"file": ("photo.jpg", data, mime_type)})


def _refusal(response: httpx.Response) -> str:
    assert response.status_code in (400, 403), response.text
    found = re.search(r"<Code>([^<]+)</Code>", response.text)
    return found.group(1) if found else response.text


def test_an_upload_comes_back_byte_for_byte_with_its_type_and_size(
    store: S3Attachments,
) -> None:
    upload = _upload()
    url, fields = store.upload(upload, expires_in=60)
    assert fields["key"] == f"rooms/r1/{upload.attachment_id}"
    sent = _post(url, fields, JPEG)
    assert sent.status_code in (200, 201, 204), sent.text
    found = store.download_url("r1", upload.attachment_id, expires_in=60)
    assert found is not None
    link, mime_type, size = found
    assert (mime_type, size) == ("image/jpeg", len(JPEG))
    got = httpx.get(link)
    assert got.status_code == 200, got.text
    assert got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"


def test_nothing_uploaded_has_no_download_url(store: S3Attachments) -> None:
    assert store.download_url("r1", _upload().attachment_id, expires_in=60) is None
    # Another room's key is another object: the room is part of where it lives.
    upload = _upload(room="r1")
    url, fields = store.upload(upload, expires_in=60)
    assert _post(url, fields, JPEG).is_success
    assert store.download_url("r2", upload.attachment_id, expires_in=60) is None


def test_s3_refuses_a_file_over_the_declared_size(on_s3s: S3Attachments) -> None:
    upload = _upload(size=100)
    url, fields = on_s3s.upload(upload, expires_in=60)
    assert _refusal(_post(url, fields, b"x" * 101)) == "EntityTooLarge"
    assert on_s3s.download_url("r1", upload.attachment_id, expires_in=60) is None
    assert _post(url, fields, b"x" * 100).is_success  # the declared size itself is fine


def test_s3_refuses_another_type_than_the_declared_one(on_s3s: S3Attachments) -> None:
    upload = _upload(mime_type="text/plain", size=20)
    url, fields = on_s3s.upload(upload, expires_in=60)
    html = {**fields, "Content-Type": "text/html"}
    assert _refusal(_post(url, html, b"<script>1</script>", "text/html")) in (
        "InvalidPolicyDocument",
        "AccessDenied",
    )
    assert on_s3s.download_url("r1", upload.attachment_id, expires_in=60) is None


def test_s3_refuses_a_key_other_than_the_signed_one(on_s3s: S3Attachments) -> None:
    upload = _upload()
    url, fields = on_s3s.upload(upload, expires_in=60)
    elsewhere = {**fields, "key": f"rooms/other-room/{upload.attachment_id}"}
    assert _refusal(_post(url, elsewhere, JPEG)) in ("InvalidPolicyDocument", "AccessDenied")
    assert on_s3s.download_url("other-room", upload.attachment_id, expires_in=60) is None


def test_s3_refuses_an_upload_without_its_pending_tag(on_s3s: S3Attachments) -> None:
    url, fields = on_s3s.upload(_upload(), expires_in=60)
    untagged = {k: v for k, v in fields.items() if k != "tagging"}
    assert _refusal(_post(url, untagged, JPEG)) in ("InvalidPolicyDocument", "AccessDenied")


def test_s3_refuses_a_policy_the_client_rewrote(on_s3s: S3Attachments) -> None:
    """Raising the size limit in the policy breaks its signature."""
    url, fields = on_s3s.upload(_upload(size=10), expires_in=60)
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [
        ["content-length-range", 1, 10**9] if isinstance(c, list) else c
        for c in policy["conditions"]
    ]
    forged = {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    assert _refusal(_post(url, forged, b"x" * 1000)) == "SignatureDoesNotMatch"


def test_moto_alone_would_take_what_s3_refuses(on_moto: S3Attachments) -> None:
    """Why the refusals are tested on s3s: if this fails, moto has learnt to enforce POST
    policies, and the tests above can run on the local stack's own server."""
    url, fields = on_moto.upload(_upload(size=10), expires_in=60)
    assert _post(url, fields, b"x" * 1000).is_success


def _state(s3: Any, room_id: str, attachment_id: str) -> str | None:
    key = f"rooms/{room_id}/{attachment_id}"
    tags = s3.get_object_tagging(Bucket=Settings().attachments_bucket, Key=key)["TagSet"]
    return next((t["Value"] for t in tags if t["Key"] == "state"), None)


def test_keep_tags_an_upload_sent_and_forget_deletes_it(
    on_moto: S3Attachments, moto_s3: Any
) -> None:
    upload = _upload()
    url, fields = on_moto.upload(upload, expires_in=60)
    assert _post(url, fields, JPEG).is_success
    on_moto.keep("r1", upload.attachment_id)
    on_moto.keep("r1", upload.attachment_id)  # a redelivered batch keeps it again
    assert _state(moto_s3, "r1", upload.attachment_id) == SENT
    on_moto.forget("r1", upload.attachment_id)
    assert on_moto.download_url("r1", upload.attachment_id, expires_in=60) is None
    on_moto.forget("r1", upload.attachment_id)  # and forgets it again


def test_keeping_or_forgetting_what_was_never_uploaded_is_fine(on_moto: S3Attachments) -> None:
    never = _upload().attachment_id
    on_moto.keep("r1", never)
    on_moto.forget("r1", never)
    assert on_moto.download_url("r1", never, expires_in=60) is None


def test_the_local_bucket_lets_a_browser_upload(aws_endpoint: str) -> None:
    """The web demo posts the form from its own origin: the preflight must pass."""
    preflight = httpx.options(
        f"{aws_endpoint}/{Settings().attachments_bucket}",
        headers={"Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
