"""Mobile push through Amazon SNS (the PushSender port): an endpoint per device token under
the platform application of its platform, and one publish per push, in each platform's
payload (FCM HTTP v1 through SNS's `GCM` key; APNs' `aps`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mayachat.ports import PushOutcome, PushThrottled
from mayachat.push import Device, Notification, Platform
from mayachat.tracing import traced_calls

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# The endpoint will never take a push again: the app was removed, the token expired or the
# endpoint was deleted. Anything else that is not the service's fault for now is a bug.
_GONE = {"EndpointDisabled", "EndpointDisabledException"}
_MISSING_ENDPOINT = ("No endpoint found", "Endpoint does not exist", "TargetArn")
_EXISTING = re.compile(r"Endpoint (arn:[^ ]+) already exists with the same [Tt]oken")
_LATER = {"Throttling", "ThrottledException", "Throttled", "InternalError", "InternalFailure"}


@traced_calls("sns")
class SnsPushSender:
    def __init__(self, sns: SNSClient, applications: Mapping[Platform, str]) -> None:
        self._sns = sns
        self._applications = dict(applications)

    def endpoint(self, device: Device) -> str:
        application = self._applications.get(device.platform)
        if not application:  # a deployment without this platform: not a failure to retry
            raise LookupError(f"no SNS platform application for {device.platform.value}")
        try:
            endpoint = self._create(application, device.token)
            # The token may have failed once and had SNS disable its endpoint; the app has
            # just registered it again, so it is worth another try.
            attributes = self._sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"]
            if attributes.get("Enabled", "true").lower() != "true":
                self._sns.set_endpoint_attributes(
                    EndpointArn=endpoint, Attributes={"Enabled": "true"}
                )
        except ClientError as exc:
            raise _later(exc) from exc
        return endpoint

    def _create(self, application: str, token: str) -> str:
        """AWS's token-management practice: creating is idempotent for a token whose endpoint
        has the same attributes; one whose attributes changed (disabled) is refused, naming
        the endpoint, which is the one to use."""
        try:
            made = self._sns.create_platform_endpoint(
                PlatformApplicationArn=application, Token=token
            )
        except ClientError as exc:
            found = _EXISTING.search(exc.response.get("Error", {}).get("Message", ""))
            if exc.response.get("Error", {}).get("Code") == "InvalidParameter" and found:
                return found.group(1)
            raise
        return str(made["EndpointArn"])

    def send(self, endpoint: str, device: Device, notification: Notification) -> PushOutcome:
        try:
            self._sns.publish(
                TargetArn=endpoint,
                MessageStructure="json",
                Message=json.dumps(payload(device.platform, notification)),
                MessageAttributes=_attributes(device.platform, notification),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            text = exc.response.get("Error", {}).get("Message", "")
            if code in _GONE or (
                code in ("InvalidParameter", "NotFound")
                and any(t in text for t in _MISSING_ENDPOINT)
            ):
                return PushOutcome.GONE
            raise _later(exc) from exc
        return PushOutcome.SENT


def _later(exc: ClientError) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _LATER or status >= 500:
        return PushThrottled(f"SNS {code or status}: try again")
    return exc


def payload(platform: Platform, notification: Notification) -> dict[str, str]:
    """SNS's message structure: one JSON string per platform key."""
    data = {
        "roomId": notification.room_id,
        "seq": str(notification.seq),
        "messageId": notification.message_id,
    }
    if platform is Platform.FCM:
        message: dict[str, Any] = {
            "notification": {"title": notification.title, "body": notification.body},
            "data": data,
            "android": {
                "collapse_key": notification.collapse_key,
                "notification": {
                    "tag": notification.collapse_key,  # replaces the room's earlier one
                    "notification_count": notification.badge,
                },
            },
        }
        return {"GCM": json.dumps({"fcmV1Message": {"message": message}})}
    aps = {
        "alert": {"title": notification.title, "body": notification.body},
        "badge": notification.badge,
        "sound": "default",
        "thread-id": notification.collapse_key,  # groups the room's pushes
    }
    return {platform.value: json.dumps({"aps": aps, **data})}


def _attributes(platform: Platform, notification: Notification) -> dict[str, Any]:
    if platform is Platform.FCM:
        return {}
    string = "String"
    return {
        # A newer push of the room replaces the shown one instead of stacking.
        "AWS.SNS.MOBILE.APNS.COLLAPSE_ID": {
            "DataType": string,
            "StringValue": notification.collapse_key,
        },
        "AWS.SNS.MOBILE.APNS.PUSH_TYPE": {"DataType": string, "StringValue": "alert"},
    }
