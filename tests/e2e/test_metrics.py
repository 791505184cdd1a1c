"""The metrics of a send, as the functions publish them (CloudWatch Embedded Metric Format on
stdout, which the local runtime logs like Lambda sends it to CloudWatch Logs)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mayachat_local.gateway.server import LocalWebSocketGateway
from tests.e2e.conftest import Client

Phone = Callable[[str], Client]


def emf_lines(caplog: pytest.LogCaptureFixture, function: str) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        output = getattr(record, "output", None)
        if getattr(record, "function", None) != function or not isinstance(output, str):
            continue
        try:
            data = json.loads(output)
        except ValueError:
            continue
        if isinstance(data, dict) and "_aws" in data:
            lines.append(data)
    return lines


def published(
    caplog: pytest.LogCaptureFixture, function: str, metric: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The first EMF line of `function` that holds `metric` (persist runs a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        for line in emf_lines(caplog, function):
            if metric in line:
                return line
        assert time.monotonic() < deadline, f"{function} published no {metric}"
        time.sleep(0.1)


def test_a_send_publishes_its_metrics_and_persist_its_lag(
    phone: Phone,
    new_room: Callable[..., str],
    users: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mayachat_local.lambda")
    alice, bob = phone(users("alice")), phone(users("bob"))
    room = new_room(alice.user, bob.user)
    caplog.clear()
    alice.send_text(room, "measured")
    bob.expect("message")

    send = published(caplog, "WsSendMessageFunction", "MessagesSent")
    [directive] = send["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MayaChat"
    assert [sorted(d) for d in directive["Dimensions"]] == [["service", "stage"]]
    assert send["service"] == "mayachat"
    assert send["MessagesSent"] == [1.0]
    assert send["DeliveryPosts"] == [1.0]  # bob; alice's ack is the route response
    [ack] = send["AckLatency"]
    [kafka] = send["KafkaAppendLatency"]
    assert 0 < kafka <= ack
    assert "DeliveryFailed" not in send
    assert "DeliveryGone" not in send

    stored = published(caplog, "PersistFunction", "MessagesPersisted")
    assert stored["MessagesPersisted"][0] >= 1
    assert all(lag > 0 for lag in stored["StoredLag"])


def test_a_refused_token_is_counted_for_the_authorizer_alarm(
    gateway: LocalWebSocketGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Its 401 is a Lambda error (raise "Unauthorized"); the alarm subtracts these."""
    caplog.set_level(logging.INFO, logger="mayachat_local.lambda")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{gateway.url}?token=not-a-jwt", open_timeout=20)
    assert refused.value.response.status_code == 401
    line = published(caplog, "WsAuthorizerFunction", "TokensRefused")
    assert line["TokensRefused"] == [1.0]
