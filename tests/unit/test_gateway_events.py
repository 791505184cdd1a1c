"""The events the emulator builds have API Gateway's shapes (checked against Powertools)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

from mayachat_local.gateway import events

SAVED = Path(__file__).parents[1] / "fixtures" / "gateway" / "events"


def client(**changes: Any) -> events.ClientInfo:
    info = events.ClientInfo(
        connection_id=events.new_id(),
        api_id="abcdef1234",
        stage="prod",
        domain_name="127.0.0.1:3001",
        source_ip="127.0.0.1",
        user_agent="test-agent",
        connected_at_ms=1_731_332_735_513,
        headers=[
            ("Host", "127.0.0.1:3001"),
            ("Sec-WebSocket-Key", "k=="),
            ("X-Dup", "a"),
            ("X-Dup", "b"),
        ],
        query=[("token", "t1")],
        authorizer={"userId": "u-1", "principalId": "p", "integrationLatency": 3},
    )
    for key, value in changes.items():
        setattr(info, key, value)
    return info


def test_ids_and_times_look_like_api_gateways() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", events.new_id())
    assert re.fullmatch(r"[a-z0-9]{10}", events.new_api_id())
    assert events.clf_time(1_731_332_746_514) == "11/Nov/2024:13:45:46 +0000"
    assert events.iso_time(1_731_332_746_514) == "2024-11-11T13:45:46.514Z"
    assert events.epoch_ms_of("2024-11-11T13:45:46.514Z") == 1_731_332_746_514


def test_connect_event() -> None:
    event = events.connect_event(client(), request_id="r", request_ms=1_731_332_735_600)
    parsed = APIGatewayWebSocketConnectEventModel.model_validate(event)
    assert parsed.request_context.route_key == "$connect"
    assert event["headers"]["X-Dup"] == "b"
    assert event["multiValueHeaders"]["X-Dup"] == ["a", "b"]
    assert event["queryStringParameters"] == {"token": "t1"}
    assert event["requestContext"]["authorizer"]["userId"] == "u-1"
    assert event["requestContext"]["requestTime"] == "11/Nov/2024:13:45:35 +0000"


def test_connect_event_without_a_query_string_has_no_query_keys() -> None:
    event = events.connect_event(client(query=[], authorizer=None), request_id="r", request_ms=1)
    assert "queryStringParameters" not in event
    assert "authorizer" not in event["requestContext"]
    APIGatewayWebSocketConnectEventModel.model_validate(event)


@pytest.mark.parametrize(("body", "encoded"), [('{"action": "x"}', False), (b"\x00\xffbin", True)])
def test_message_event(body: str | bytes, encoded: bool) -> None:
    event = events.message_event(
        client(), body, route_key="x", request_id="r", message_id="m", request_ms=2
    )
    parsed = APIGatewayWebSocketMessageEventModel.model_validate(event)
    assert parsed.request_context.message_id == "m"
    assert event["isBase64Encoded"] is encoded
    if isinstance(body, bytes):
        assert base64.b64decode(event["body"]) == body
    else:
        assert event["body"] == body
    assert event["requestContext"]["authorizer"]["principalId"] == "p"


def test_disconnect_event() -> None:
    event = events.disconnect_event(client(), 1005, "why", request_id="r", request_ms=3)
    parsed = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    assert parsed.request_context.disconnect_status_code == 1005
    assert parsed.request_context.disconnect_reason == "why"
    assert event["headers"] == {
        "Host": "127.0.0.1:3001",
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }


def test_authorizer_event() -> None:
    event = events.authorizer_event(
        client(query=[], authorizer=None), region="eu-west-1", request_id="r", request_ms=4
    )
    assert event["type"] == "REQUEST"
    assert (
        event["methodArn"] == "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/$connect"
    )
    assert event["queryStringParameters"] == {}
    assert event["multiValueQueryStringParameters"] == {}
    assert event["stageVariables"] == {}
    assert event["requestContext"]["eventType"] == "CONNECT"


def test_gateway_headers_are_added_once() -> None:
    headers = events.gateway_headers(
        [("Host", "h"), ("x-forwarded-for", "10.0.0.1")],
        source_ip="127.0.0.1",
        port=3001,
        proto="http",
    )
    names = [name.lower() for name, _ in headers]
    assert names.count("x-forwarded-for") == 1
    assert {"x-amzn-trace-id", "x-forwarded-port", "x-forwarded-proto"} <= set(names)


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("connect", APIGatewayWebSocketConnectEventModel),
        ("message", APIGatewayWebSocketMessageEventModel),
        ("disconnect", APIGatewayWebSocketDisconnectEventModel),
    ],
)
def test_saved_examples_validate(name: str, model: Any) -> None:
    model.model_validate(json.loads((SAVED / f"{name}.json").read_text()))


def test_saved_authorizer_example() -> None:
    event = json.loads((SAVED / "authorizer.json").read_text())
    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith("/test/$connect")
