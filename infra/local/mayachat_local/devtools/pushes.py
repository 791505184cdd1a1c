"""The pushes the local AWS server (moto) recorded: what each device would have shown.

moto does not call FCM or APNs; it keeps every publish to a platform endpoint, and its
/moto-api/data.json lists them. The e2e tests and the web demo read them here.

    .venv/bin/python -m mayachat_local.devtools.pushes [TOKEN]
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass
from typing import Any

from mayachat_local.config import StackConfig


@dataclass(frozen=True)
class Push:
    token: str
    platform: str  # SNS's message key: GCM, APNS or APNS_SANDBOX
    title: str
    body: str
    badge: int
    data: dict[str, str]
    collapse_key: str


def pushes(aws_endpoint: str, token: str | None = None) -> list[Push]:
    """Every push recorded (to `token` only, when given), oldest first."""
    with urllib.request.urlopen(f"{aws_endpoint}/moto-api/data.json", timeout=5) as answer:  # noqa: S310 - the local server
        data: dict[str, Any] = json.load(answer)
    found = []
    for endpoint in data.get("sns", {}).get("PlatformEndpoint", []):
        if token is not None and endpoint.get("token") != token:
            continue
        for raw in endpoint.get("messages", {}).values():
            found.append(_decode(str(endpoint.get("token")), json.loads(raw)))
    return found


def _decode(token: str, message: dict[str, str]) -> Push:
    ((platform, payload),) = message.items()
    body = json.loads(payload)
    if platform == "GCM":
        fcm = body["fcmV1Message"]["message"]
        android = fcm.get("android", {})
        return Push(
            token,
            platform,
            fcm["notification"]["title"],
            fcm["notification"]["body"],
            int(android.get("notification", {}).get("notification_count", 0)),
            dict(fcm.get("data", {})),
            str(android.get("collapse_key", "")),
        )
    aps = body.pop("aps")
    return Push(
        token,
        platform,
        aps["alert"]["title"],
        aps["alert"]["body"],
        int(aps.get("badge", 0)),
        {k: str(v) for k, v in body.items()},
        str(aps.get("thread-id", "")),
    )


def main(argv: list[str]) -> int:
    config = StackConfig.from_env()
    endpoint = f"http://{config.host}:{config.aws_port}"
    for push in pushes(endpoint, argv[0] if argv else None):
        print(f"{push.token[-8:]}  [{push.badge}] {push.title}: {push.body}  {push.data}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
