"""/api/devices and /api/push: where a user's pushes go, and what they show.

A device is an app install: `deviceId` (the app's own, stable across token refreshes), its
platform and its push token. Registering a token again moves it: to this device, from
whichever user had it. Rooms are muted at /api/rooms/{roomId}/mute (rooms.py's prefix, this
router's routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from mayachat import bootstrap
from mayachat.fields import ROOM_ID_PATTERN
from mayachat.push import Platform
from mayachat.push_settings import PushSettings
from mayachat.rest.schemas import (
    DEVICE_ID_PATTERN,
    DeviceIn,
    DeviceOut,
    DevicesOut,
    MuteIn,
    PushPreferencesIn,
    PushPreferencesOut,
)
from mayachat.rest.security import CurrentUser

router = APIRouter(tags=["push"])

Service = Annotated[PushSettings, Depends(bootstrap.push_settings)]
DeviceIdPath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
RoomIdPath = Annotated[str, Path(pattern=ROOM_ID_PATTERN)]


@router.put(
    "/api/devices/{deviceId}",
    response_model=DeviceOut,
    summary="Register this device's push token (again: the same token moves, never doubles)",
)
def register(
    user: CurrentUser, service: Service, deviceId: DeviceIdPath, body: DeviceIn
) -> DeviceOut:
    device = service.register(user, deviceId, Platform(body.platform), body.token)
    return DeviceOut.of(device)


@router.get("/api/devices", response_model=DevicesOut, summary="The caller's devices")
def devices(user: CurrentUser, service: Service) -> DevicesOut:
    return DevicesOut(devices=[DeviceOut.of(d) for d in service.devices_of(user)])


@router.delete(
    "/api/devices/{deviceId}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop pushing to this device (sign-out)",
)
def remove(user: CurrentUser, service: Service, deviceId: DeviceIdPath) -> Response:
    service.remove(user, deviceId)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/push/preferences", response_model=PushPreferencesOut, summary="The caller's settings"
)
def preferences(user: CurrentUser, service: Service) -> PushPreferencesOut:
    return PushPreferencesOut.of(service.preferences_of(user))


@router.put(
    "/api/push/preferences",
    response_model=PushPreferencesOut,
    summary="Show the message's text in pushes, or a generic body",
)
def set_preferences(
    user: CurrentUser, service: Service, body: PushPreferencesIn
) -> PushPreferencesOut:
    return PushPreferencesOut.of(service.show_preview(user, body.showPreview))


@router.put(
    "/api/rooms/{roomId}/mute",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="No pushes for this room, until a time or (no `until`) for ever",
)
def mute(user: CurrentUser, service: Service, roomId: RoomIdPath, body: MuteIn) -> Response:
    service.mute(user, roomId, body.until)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/api/rooms/{roomId}/mute",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Pushes for this room again",
)
def unmute(user: CurrentUser, service: Service, roomId: RoomIdPath) -> Response:
    service.unmute(user, roomId)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
