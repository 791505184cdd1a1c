"""Push notifications end to end: phones through the local gateway, the notify function on
its own mapping (a consumer group of its own), SNS on the local AWS server (moto records what
each device would show). Exactly one push per message for an offline member; none for one
their phone confirmed (markDelivered) or while they have the room muted; a generic body when
they hide previews; a disabled endpoint's device pruned."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx

from mayachat.ids import new_message_id
from mayachat.model import utc_now_iso
from mayachat_local.config import StackConfig
from mayachat_local.devtools.invoke import invoke
from mayachat_local.devtools.pushes import Push, pushes
from mayachat_local.esm import LocalEventSourceMappings
from tests.e2e.conftest import Client, bearer

EVENTS = Path(__file__).resolve().parents[1] / "events"


def register(http: httpx.Client, user: str, platform: str = "FCM") -> str:
    token = f"e2e-{uuid.uuid4().hex}"
    answer = http.put(
        f"/api/devices/phone-{token[-6:]}",
        json={"platform": platform, "token": token},
        headers=bearer(user),
    )
    assert answer.status_code == 200, answer.text
    return token


def pushes_to(aws: str, token: str, count: int, timeout: float = 30.0) -> list[Push]:
    """Once `count` pushes reached the token: all of them (more would show as more)."""
    deadline = time.monotonic() + timeout
    while True:
        got = pushes(aws, token)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_an_offline_member_gets_one_push_per_message_and_none_while_online_or_muted(
    notify: LocalEventSourceMappings,
    http: httpx.Client,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
    aws_endpoint: str,
) -> None:
    alice, bob, carol = users("alice"), users("bob"), users("carol")
    room = new_room(alice, bob, carol)
    token = register(http, bob)
    # carol is never online and mutes nothing: her push of a message shows that notify has
    # handled it, so bob's settings can change after it without racing it.
    witness = register(http, carol)
    sender = phone(alice)
    first = sender.send_text(room, "are you there?")  # bob has no connection: a push
    assert [p.body for p in pushes_to(aws_endpoint, token, 1)] == ["are you there?"]
    online = phone(bob)
    second = sender.send_text(room, "now you are")  # delivered live: no push
    online.expect("message")
    # As a phone does with what it got live; once alice hears of it, the cursor has moved.
    online.send({"action": "markDelivered", "roomId": room, "upToSeq": second["seq"]})
    receipt = sender.expect("receipt", userId=bob)
    assert (receipt["kind"], receipt["upToSeq"]) == ("delivered", second["seq"])
    online.ws.close()  # offline again at once: the confirmed message still wakes nobody
    time.sleep(1)  # $disconnect has run
    third = sender.send_text(room, "gone again")
    got = pushes_to(aws_endpoint, token, 2)
    assert [(p.data["seq"], p.body) for p in got] == [
        (str(first["seq"]), "are you there?"),
        (str(third["seq"]), "gone again"),
    ]
    assert got[0].data == {
        "roomId": room,
        "seq": str(first["seq"]),
        "messageId": first["messageId"],
    }
    assert got[0].title == alice  # a group without a name: titled by its sender
    assert got[0].badge == 1
    assert got[1].badge >= 2  # 3 once persist has stored the second (it reads at its pace)
    assert {p.collapse_key for p in got} == {f"room-{room}"}

    muted = http.put(f"/api/rooms/{room}/mute", json={}, headers=bearer(bob))
    assert muted.status_code == 204
    sender.send_text(room, "muted, so quiet")
    assert [p.body for p in pushes_to(aws_endpoint, witness, 4)][-1] == "muted, so quiet"
    assert http.delete(f"/api/rooms/{room}/mute", headers=bearer(bob)).status_code == 204
    http.put("/api/push/preferences", json={"showPreview": False}, headers=bearer(bob))
    last = sender.send_text(room, "the secret plan")
    got = pushes_to(aws_endpoint, token, 3)
    assert [(p.data["seq"], p.body) for p in got[2:]] == [(str(last["seq"]), "New message")]
    time.sleep(1)  # nothing else arrives late
    assert len(pushes(aws_endpoint, token)) == 3


def test_a_disabled_endpoint_is_pruned_from_the_users_devices(
    notify: LocalEventSourceMappings,
    http: httpx.Client,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
    aws_endpoint: str,
) -> None:
    alice, bob = users("alice"), users("bob")
    room = new_room(alice, bob)
    token = register(http, bob)
    sender = phone(alice)
    sender.send_text(room, "hello")
    assert len(pushes_to(aws_endpoint, token, 1)) == 1  # its endpoint exists now
    sns = boto3.client("sns")
    (endpoint,) = [
        e["EndpointArn"]
        for app in sns.list_platform_applications()["PlatformApplications"]
        for e in sns.list_endpoints_by_platform_application(
            PlatformApplicationArn=app["PlatformApplicationArn"]
        )["Endpoints"]
        if e["Attributes"].get("Token") == token
    ]
    sns.set_endpoint_attributes(
        EndpointArn=endpoint, Attributes={"Enabled": "false"}
    )  # app removed
    sender.send_text(room, "still there?")
    deadline = time.monotonic() + 30
    while http.get("/api/devices", headers=bearer(bob)).json()["devices"]:
        assert time.monotonic() < deadline, "the disabled device was never pruned"
        time.sleep(0.2)
    assert len(pushes(aws_endpoint, token)) == 1


def test_a_batch_delivered_twice_sends_each_push_once(
    http: httpx.Client,
    new_room: Callable[..., str],
    users: Callable[[str], str],
    aws_endpoint: str,
    stack_config: StackConfig,
    mongodb_uri: str,
) -> None:
    """The MSK mapping is at-least-once: the same batch, through the real function twice."""
    alice, bob = users("alice"), users("bob")
    room = new_room(alice, bob)
    token = register(http, bob)
    batch = json.loads((EVENTS / "notify_msk.json").read_text())
    (record,) = batch["records"]["chat-messages-0"]
    message = {
        "messageId": new_message_id(),
        "roomId": room,
        "seq": 1,
        "senderId": alice,
        "clientMsgId": "c-once",
        "content": {"type": "text", "text": "only once"},
        "createdAt": utc_now_iso(),
    }
    record["key"] = base64.b64encode(room.encode()).decode()
    record["value"] = base64.b64encode(json.dumps(message).encode()).decode()
    for _ in range(2):
        code, answer = asyncio.run(
            invoke(stack_config, "NotifyFunction", batch, {"MONGODB_URI": mongodb_uri})
        )
        assert (code, answer) == (0, {"batchItemFailures": []})
    assert [p.body for p in pushes(aws_endpoint, token)] == ["only once"]
