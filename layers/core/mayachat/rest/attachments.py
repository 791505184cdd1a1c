"""/api/rooms/{roomId}/attachments: a presigned upload straight to S3, and a short-lived URL
to read one back. Members of the room only (404 for everyone else, as on every room-scoped
endpoint). The bytes never pass through the function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, Field, StrictInt

from mayachat import bootstrap
from mayachat.attachments import MAX_NAME_LENGTH, Attachment, Attachments, UploadTicket
from mayachat.fields import MESSAGE_ID_PATTERN, ROOM_ID_PATTERN
from mayachat.rest.schemas import Body
from mayachat.rest.security import CurrentUser

router = APIRouter(prefix="/api/rooms/{roomId}/attachments", tags=["attachments"])

Service = Annotated[Attachments, Depends(bootstrap.attachments)]
RoomIdPath = Annotated[str, Path(pattern=ROOM_ID_PATTERN)]
AttachmentIdPath = Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)]


class UploadIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)] = Field(
        description="the file's name, as shown and saved (no path separators)"
    )
    mimeType: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="one of the accepted types (ATTACHMENT_TYPES), e.g. image/jpeg"
    )
    size: Annotated[StrictInt, Field(ge=1)] = Field(
        description="bytes; at most ATTACHMENT_MAX_BYTES (25 MiB by default)"
    )


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str] = Field(
        description="send each as a multipart/form-data field, then the file as `file` (last)"
    )


class UploadOut(BaseModel):
    attachmentId: str
    upload: PresignedPost
    expiresIn: int = Field(description="seconds the upload form works")
    maxBytes: int = Field(description="the most bytes S3 takes: the declared size")

    @classmethod
    def of(cls, ticket: UploadTicket) -> UploadOut:
        return cls(
            attachmentId=ticket.attachment_id,
            upload=PresignedPost(url=ticket.url, fields=ticket.fields),
            expiresIn=ticket.expires_in,
            maxBytes=ticket.max_bytes,
        )


class AttachmentOut(BaseModel):
    url: str = Field(description="GET it within expiresIn seconds")
    expiresIn: int
    mimeType: str
    size: int

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentOut:
        return cls(
            url=attachment.url,
            expiresIn=attachment.expires_in,
            mimeType=attachment.mime_type,
            size=attachment.size,
        )


@router.post(
    "",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    summary="A presigned POST that uploads one file of this type and at most this size to S3",
)
def upload(user: CurrentUser, service: Service, roomId: RoomIdPath, body: UploadIn) -> UploadOut:
    return UploadOut.of(service.upload(user, roomId, body.name, body.mimeType, body.size))


@router.get(
    "/{attachmentId}",
    response_model=AttachmentOut,
    summary="A short-lived URL that downloads the attachment",
)
def download(
    user: CurrentUser, service: Service, roomId: RoomIdPath, attachmentId: AttachmentIdPath
) -> AttachmentOut:
    return AttachmentOut.of(service.download(user, roomId, attachmentId))
