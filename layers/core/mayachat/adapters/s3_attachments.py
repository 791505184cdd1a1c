"""Attachments in an S3 bucket (the AttachmentStore port): presigned POSTs whose policy S3
enforces, presigned GETs, and a `state` tag the bucket's lifecycle rule reads (template.yaml:
objects still `pending` a day after their upload expire)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import quote

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as Unreachable

from mayachat.attachments import StoreUnavailable
from mayachat.tracing import traced_calls

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from mayachat.attachments import Upload

STATE_TAG = "state"
PENDING = "pending"
SENT = "sent"
# The POST form's `tagging` field is the XML of a tag set; the policy pins it, so an upload
# can never arrive untagged (and escape the expiry) or tagged `sent` before it was sent.
PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE_TAG}</Key><Value>{PENDING}</Value></Tag></TagSet></Tagging>"
)
_MISSING = {"404", "NoSuchKey", "NotFound"}
_LATER = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}


def object_key(room_id: str, attachment_id: str) -> str:
    """Under its room: the template grants the functions rooms/* only, and a member of another
    room never reaches it (the REST API checks membership of the room in the key)."""
    return f"rooms/{room_id}/{attachment_id}"


@traced_calls("s3")
class S3Attachments:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload(self, upload: Upload, expires_in: int) -> tuple[str, dict[str, str]]:
        # Each field is pinned by an exact condition: a form with another type, disposition
        # or tag set is refused by S3, as is one for another key (boto3 adds the key and
        # bucket conditions itself) or a file over the declared size.
        fields = {
            "Content-Type": upload.mime_type,
            # Saved under its name, never rendered inline from the bucket's origin.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(upload.name, safe='')}",
            "tagging": PENDING_TAGGING,
        }
        conditions: list[object] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, upload.size])
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=object_key(upload.room_id, upload.attachment_id),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}

    def download_url(
        self, room_id: str, attachment_id: str, expires_in: int
    ) -> tuple[str, str, int] | None:
        key = object_key(room_id, attachment_id)
        try:
            with _retryable():
                head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url, head.get("ContentType", "application/octet-stream"), head["ContentLength"]

    def keep(self, room_id: str, attachment_id: str) -> None:
        try:
            with _retryable():
                self._s3.put_object_tagging(
                    Bucket=self._bucket,
                    Key=object_key(room_id, attachment_id),
                    Tagging={"TagSet": [{"Key": STATE_TAG, "Value": SENT}]},
                )
        except ClientError as exc:
            # Never uploaded, or forgotten already: nothing to keep.
            if not _missing(exc):
                raise

    def forget(self, room_id: str, attachment_id: str) -> None:
        # S3 answers 204 for a key that is not there: deleting twice is fine.
        with _retryable():
            self._s3.delete_object(Bucket=self._bucket, Key=object_key(room_id, attachment_id))


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


@contextmanager
def _retryable() -> Iterator[None]:
    """S3 unreachable, timing out or overloaded (5xx, SlowDown): StoreUnavailable."""
    try:
        yield
    except (Unreachable, HTTPClientError) as exc:  # HTTPClientError: read timeouts too
        raise StoreUnavailable(f"S3 unreachable: {exc}") from exc
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _LATER or status >= 500:
            raise StoreUnavailable(f"S3 {code or status}") from exc
        raise
