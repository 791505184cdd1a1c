"""In-memory fakes of the push ports (mayachat.ports: DeviceRegistry, PushPreferenceStore,
PushSender, PushLedger), for the notify service's unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from mayachat import ports
from mayachat.ports import PushOutcome, PushThrottled
from mayachat.push import Device, Notification, PushPreferences


class FakeDevices:
    def __init__(self) -> None:
        self.by_token: dict[str, Device] = {}

    def register(self, device: Device) -> Device:
        for token, known in list(self.by_token.items()):
            if (known.user_id, known.device_id) == (device.user_id, device.device_id):
                del self.by_token[token]
        earlier = self.by_token.get(device.token)
        stored = replace(device, endpoint=earlier.endpoint if earlier else None)
        self.by_token[device.token] = stored
        return stored

    def of_users(self, user_ids: Sequence[str]) -> dict[str, list[Device]]:
        found: dict[str, list[Device]] = {}
        for device in self.by_token.values():
            if device.user_id in user_ids:
                found.setdefault(device.user_id, []).append(device)
        return found

    def remove(self, user_id: str, device_id: str) -> bool:
        for token, known in list(self.by_token.items()):
            if (known.user_id, known.device_id) == (user_id, device_id):
                del self.by_token[token]
                return True
        return False

    def set_endpoint(self, device: Device, endpoint: str) -> None:
        if device.token in self.by_token:
            self.by_token[device.token] = replace(self.by_token[device.token], endpoint=endpoint)

    def forget(self, device: Device) -> None:
        self.by_token.pop(device.token, None)


class FakePreferences:
    def __init__(self) -> None:
        self.of: dict[str, PushPreferences] = {}

    def of_users(self, user_ids: Sequence[str]) -> dict[str, PushPreferences]:
        return {u: self.of[u] for u in user_ids if u in self.of}

    def set_preview(self, user_id: str, show: bool) -> None:
        self.of[user_id] = replace(self.of.get(user_id, PushPreferences()), show_preview=show)

    def mute(self, user_id: str, room_id: str, until: datetime | None) -> None:
        current = self.of.get(user_id, PushPreferences())
        self.of[user_id] = replace(current, muted={**current.muted, room_id: until})

    def unmute(self, user_id: str, room_id: str) -> None:
        current = self.of.get(user_id, PushPreferences())
        muted = {r: u for r, u in current.muted.items() if r != room_id}
        self.of[user_id] = replace(current, muted=muted)


@dataclass
class FakeSender:
    """SNS mobile push: endpoints by token, what each was sent; `disabled` tokens answer
    gone, `throttle` pushes raise before sending, `error` is raised while set."""

    sent: list[tuple[str, Notification]] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    throttle: int = 0
    error: Exception | None = None  # raised by every send while set
    endpoints_made: int = 0

    def endpoint(self, device: Device) -> str:
        self.endpoints_made += 1
        return f"arn:endpoint/{device.platform}/{device.token}"

    def send(self, endpoint: str, device: Device, notification: Notification) -> PushOutcome:
        if self.error is not None:
            raise self.error
        if self.throttle:
            self.throttle -= 1
            raise PushThrottled("throttled")
        if device.token in self.disabled:
            return PushOutcome.GONE
        self.sent.append((device.token, notification))
        return PushOutcome.SENT


class FakePushLedger:
    def __init__(self) -> None:
        self.claimed: set[tuple[str, str]] = set()

    def claim(self, message_id: str, device: Device) -> bool:
        key = (message_id, device.token)
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def release(self, message_id: str, device: Device) -> None:
        self.claimed.discard((message_id, device.token))


if TYPE_CHECKING:  # mypy (make typecheck) holds every fake to its port
    _devices: ports.DeviceRegistry = FakeDevices()
    _preferences: ports.PushPreferenceStore = FakePreferences()
    _sender: ports.PushSender = FakeSender()
    _ledger: ports.PushLedger = FakePushLedger()
