"""The Custom::KafkaTopics handler (infra/aws/kafka_topics/app.py): creates the missing topics,
keeps them on Delete, and always answers CloudFormation."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.lambda_support import load_handler_module

APP = Path(__file__).resolve().parents[2] / "infra" / "aws" / "kafka_topics" / "app.py"


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_handler_module(APP, "kafka_topics_app")


class Future:
    def __init__(self, error: str | None = None) -> None:
        self.error = error

    def result(self) -> None:
        if self.error:
            raise RuntimeError(self.error)


class FakeAdmin:
    def __init__(self, existing: set[str], errors: dict[str, str] | None = None) -> None:
        self.existing = existing
        self.errors = errors or {}
        self.created: list[tuple[str, int]] = []
        self.created_configs: dict[str, dict[str, str]] = {}
        self.retention: dict[str, str] = {}
        self.polled = False

    def poll(self, timeout: float) -> int:
        self.polled = True
        return 0

    def list_topics(self, timeout: float) -> Any:
        return SimpleNamespace(topics=dict.fromkeys(self.existing))

    def create_topics(self, topics: list[Any], operation_timeout: float) -> dict[str, Future]:
        self.created += [(t.topic, t.num_partitions) for t in topics]
        self.created_configs.update({t.topic: t.config for t in topics})
        return {t.topic: Future(self.errors.get(t.topic)) for t in topics}

    def incremental_alter_configs(self, resources: list[Any]) -> dict[Any, Future]:
        for resource in resources:
            for entry in resource.incremental_configs:
                self.retention[resource.name] = entry.value
        return {r: Future() for r in resources}


def event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/abc",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mayachat-dev/1",
        "RequestId": "r-1",
        "LogicalResourceId": "KafkaTopics",
        "ResourceProperties": {
            "Topics": ["chat-messages", "message-persistence", "chat-dead-letter"],
            "Partitions": "6",
            "RetentionHours": "48",
        },
        **extra,
    }


def run(app: ModuleType, request: dict[str, Any], admin: FakeAdmin) -> dict[str, Any]:
    sent: list[tuple[str, bytes]] = []
    app.handler(request, None, admin_factory=lambda: admin, send=lambda u, b: sent.append((u, b)))
    ((url, body),) = sent
    assert url == request["ResponseURL"]
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_create_makes_only_the_missing_topics(app: ModuleType) -> None:
    admin = FakeAdmin(existing={"chat-messages"})
    answer = run(app, event("Create"), admin)
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "kafka-topics"
    assert admin.polled  # the OAUTHBEARER callback is served first
    assert admin.created == [("message-persistence", 6), ("chat-dead-letter", 6)]
    assert answer["Data"] == {"Created": "message-persistence,chat-dead-letter"}


def test_a_topic_created_meanwhile_is_fine(app: ModuleType) -> None:
    admin = FakeAdmin(existing=set(), errors={"chat-messages": "KafkaError{TOPIC_ALREADY_EXISTS}"})
    assert run(app, event("Update", PhysicalResourceId="kafka-topics"), admin)["Status"] == (
        "SUCCESS"
    )


def test_a_failure_fails_the_deployment_instead_of_hanging(app: ModuleType) -> None:
    admin = FakeAdmin(existing=set(), errors={"chat-messages": "TOPIC_AUTHORIZATION_FAILED"})
    answer = run(app, event("Create"), admin)
    assert answer["Status"] == "FAILED"
    assert "TOPIC_AUTHORIZATION_FAILED" in answer["Reason"]


def test_delete_keeps_the_topics(app: ModuleType) -> None:
    admin = FakeAdmin(existing={"chat-messages"})
    answer = run(app, event("Delete", PhysicalResourceId="kafka-topics"), admin)
    assert answer["Status"] == "SUCCESS"
    assert admin.created == []
    assert not admin.polled  # no connection at all


def test_every_topic_keeps_records_for_the_retention_asked(app: ModuleType) -> None:
    admin = FakeAdmin(existing={"chat-messages"})
    assert run(app, event("Update", PhysicalResourceId="kafka-topics"), admin)["Status"] == (
        "SUCCESS"
    )
    two_days = str(48 * 3600 * 1000)
    assert admin.created_configs == {
        "message-persistence": {"retention.ms": two_days},
        "chat-dead-letter": {"retention.ms": two_days},
    }
    assert admin.retention == {"chat-messages": two_days}  # an existing topic is set too
