"""The SNS push adapter against the local AWS server (moto): endpoints per token, one
publish per push in each platform's payload, and a dead endpoint told apart from a failure."""

from __future__ import annotations

import uuid

import boto3
import pytest

from mayachat.adapters.sns_push import SnsPushSender
from mayachat.ports import PushOutcome
from mayachat.push import Device, Notification, Platform
from mayachat_local.devtools.pushes import pushes
from mayachat_local.services.moto import push_environment

NOTE = Notification("Team", "lunch?", 3, "r1", 7, "01JAAAAAAAAAAAAAAAAAAAAAAA")


@pytest.fixture
def sender(aws_endpoint: str) -> SnsPushSender:
    apps = push_environment()
    return SnsPushSender(
        boto3.client("sns"),
        {
            Platform.FCM: apps["PUSH_FCM_APPLICATION_ARN"],
            Platform.APNS: apps["PUSH_APNS_APPLICATION_ARN"],
            Platform.APNS_SANDBOX: apps["PUSH_APNS_SANDBOX_APPLICATION_ARN"],
        },
    )


def _device(platform: Platform) -> Device:
    return Device("bob", "phone", platform, f"tok-{uuid.uuid4().hex}")


@pytest.mark.parametrize("platform", list(Platform))
def test_a_push_reaches_its_endpoint_in_the_platforms_payload(
    sender: SnsPushSender, aws_endpoint: str, platform: Platform
) -> None:
    device = _device(platform)
    endpoint = sender.endpoint(device)
    assert sender.endpoint(device) == endpoint  # one endpoint per token
    assert sender.send(endpoint, device, NOTE) is PushOutcome.SENT
    (push,) = pushes(aws_endpoint, device.token)
    assert (push.title, push.body, push.badge, push.collapse_key) == (
        "Team",
        "lunch?",
        3,
        "room-r1",
    )
    assert push.data == {"roomId": "r1", "seq": "7", "messageId": NOTE.message_id}
    assert push.platform == ("GCM" if platform is Platform.FCM else platform.value)


def test_a_disabled_endpoint_is_gone_not_a_failure(
    sender: SnsPushSender, aws_endpoint: str
) -> None:
    device = _device(Platform.FCM)
    endpoint = sender.endpoint(device)
    boto3.client("sns").set_endpoint_attributes(
        EndpointArn=endpoint, Attributes={"Enabled": "false"}
    )
    assert sender.send(endpoint, device, NOTE) is PushOutcome.GONE
    assert pushes(aws_endpoint, device.token) == []


def test_a_platform_without_an_application_is_not_pushed_to(aws_endpoint: str) -> None:
    sender = SnsPushSender(boto3.client("sns"), {})
    with pytest.raises(LookupError, match="no SNS platform application for APNS"):
        sender.endpoint(_device(Platform.APNS))


def test_a_token_registered_again_after_its_endpoint_was_disabled_is_tried_again(
    sender: SnsPushSender, aws_endpoint: str
) -> None:
    device = _device(Platform.APNS)
    endpoint = sender.endpoint(device)
    sns = boto3.client("sns")
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    assert sender.endpoint(device) == endpoint  # the app registered it again
    assert sender.send(endpoint, device, NOTE) is PushOutcome.SENT
    assert len(pushes(aws_endpoint, device.token)) == 1
