"""CloudFormation custom resource (Custom::KafkaTopics in template.yaml): create the Kafka topics
the app uses on the MSK cluster it runs against.

MSK Serverless has no CloudFormation resource for topics (AWS::MSK::Topic serves provisioned
clusters only), and its brokers answer only inside the VPC, with IAM auth. This function runs
there, with the app's own client settings (mayachat.kafka_config: SASL/OAUTHBEARER signed with
the function's role).

Create and Update create the topics that are missing and set every topic's retention
(`RetentionHours`: the longest MongoDB outage the persist mapping outlasts, since it retries
until a record is stored); partition counts of existing topics are left as they are (raised
only by hand: it reshuffles keys). Delete keeps every topic: they hold the message log.
CloudFormation always gets an answer, so a failure fails the deployment instead of leaving it
waiting for an hour.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

PHYSICAL_ID = "kafka-topics"
TIMEOUT_SECONDS = 30


def handler(
    event: dict[str, Any],
    context: Any,
    admin_factory: Callable[[], Any] | None = None,
    send: Callable[[str, bytes], None] | None = None,
) -> None:
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            props = event["ResourceProperties"]
            admin = (admin_factory or _admin)()
            retention_ms = int(props.get("RetentionHours", 168)) * 3600 * 1000
            created = ensure_topics(admin, props["Topics"], int(props["Partitions"]), retention_ms)
            data = {"Created": ",".join(created) or "(none)"}
            reason = f"created: {data['Created']}"
    except Exception as exc:  # reported to CloudFormation, which fails the deployment
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:800]
    body = {
        "Status": status,
        "Reason": f"{reason} (log stream {getattr(context, 'log_stream_name', '?')})",
        "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    print(json.dumps({"request": event["RequestType"], **body}))  # the log of what was answered
    (send or _put)(event["ResponseURL"], json.dumps(body).encode())


def ensure_topics(
    admin: Any, topics: Iterable[str], partitions: int, retention_ms: int | None = None
) -> list[str]:
    """Create each missing topic, then set every topic's retention; returns the ones created.
    Replication is the cluster's default (MSK Serverless fixes it at 3)."""
    admin.poll(1)  # serves the OAUTHBEARER token callback before the first request
    wanted = [name for name in dict.fromkeys(topics) if name]
    existing = set(admin.list_topics(timeout=TIMEOUT_SECONDS).topics)
    missing = [name for name in wanted if name not in existing]
    config = {"retention.ms": str(retention_ms)} if retention_ms else {}
    if missing:
        _create(admin, missing, partitions, config)
    if retention_ms:
        _set_retention(admin, [name for name in wanted if name in existing], retention_ms)
    return missing


def _create(admin: Any, missing: list[str], partitions: int, config: dict[str, str]) -> None:
    from confluent_kafka.cimpl import NewTopic

    new = [
        NewTopic(name, num_partitions=partitions, replication_factor=-1, config=config)
        for name in missing
    ]
    futures = admin.create_topics(new, operation_timeout=TIMEOUT_SECONDS)
    for name, future in futures.items():
        try:
            future.result()
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):  # created meanwhile: fine
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc


def _set_retention(admin: Any, names: list[str], retention_ms: int) -> None:
    """Set retention.ms on existing topics, leaving their other settings alone."""
    if not names:
        return
    from confluent_kafka.admin import (
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ResourceType,
    )

    resources = [
        ConfigResource(
            ResourceType.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry(
                    "retention.ms", str(retention_ms), incremental_operation=AlterConfigOpType.SET
                )
            ],
        )
        for name in names
    ]
    for resource, future in admin.incremental_alter_configs(resources).items():
        try:
            future.result()
        except Exception as exc:
            raise RuntimeError(f"could not set the retention of {resource}: {exc}") from exc


def _admin() -> Any:
    from confluent_kafka.admin import AdminClient

    from mayachat.kafka_config import client_config
    from mayachat.settings import get_settings

    return AdminClient(client_config(get_settings()))


def _put(url: str, body: bytes) -> None:
    # The pre-signed S3 URL CloudFormation waits on; content-type must be empty for the signature.
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's https ResponseURL
        url, data=body, method="PUT", headers={"content-type": ""}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
        pass
