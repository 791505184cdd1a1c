"""The REST function as Lambda runs it: Mangum turning HTTP API v2 events into requests."""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from mayachat_local.devauth import mint

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "tests/events/rest_api_get_rooms.json").read_text())


class Context:
    function_name = "RestApiFunction"
    aws_request_id = "test-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:RestApiFunction"
    memory_limit_in_mb = 1024

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


@pytest.fixture(scope="module")
def rest_function(rest_environment: None) -> ModuleType:
    """functions/rest_api/app.py loaded from its file, as Lambda loads a handler."""
    path = ROOT / "functions/rest_api/app.py"
    spec = importlib.util.spec_from_file_location("rest_api_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(
    method: str, path: str, user: str | None, body: Any = None, query: str = ""
) -> dict[str, Any]:
    e = copy.deepcopy(EVENT)
    e["rawPath"] = e["requestContext"]["http"]["path"] = path
    e["requestContext"]["http"]["method"] = method
    e["rawQueryString"] = query
    e["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    if user is None:
        del e["headers"]["authorization"]
    else:
        e["headers"]["authorization"] = f"Bearer {mint(user)}"
    if body is not None:
        raw = json.dumps(body).encode()
        e["body"] = base64.b64encode(raw).decode()
        e["isBase64Encoded"] = True
        e["headers"]["content-type"] = "application/json"
        e["headers"]["content-length"] = str(len(raw))
    return e


def test_the_sample_event_is_an_http_api_v2_event() -> None:
    APIGatewayProxyEventV2Model.model_validate(EVENT)


def test_create_then_list_rooms_through_mangum(rest_function: ModuleType) -> None:
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    created = rest_function.handler(
        event("POST", "/api/rooms", alice, {"type": "direct", "members": [bob]}), Context()
    )
    assert created["statusCode"] == 201, created
    room = json.loads(created["body"])
    listed = rest_function.handler(event("GET", "/api/rooms", bob), Context())
    assert listed["statusCode"] == 200
    assert listed["headers"]["content-type"] == "application/json"
    assert [r["roomId"] for r in json.loads(listed["body"])["rooms"]] == [room["roomId"]]


def test_query_strings_and_errors_survive_the_translation(rest_function: ModuleType) -> None:
    bad = rest_function.handler(
        event("GET", "/api/messages/room/r1", "alice", query="limit=0"), Context()
    )
    assert bad["statusCode"] == 422
    assert json.loads(bad["body"])["detail"][0]["loc"] == ["query", "limit"]
    anonymous = rest_function.handler(event("GET", "/api/rooms", None), Context())
    assert anonymous["statusCode"] == 401
    health = rest_function.handler(event("GET", "/health", None), Context())
    assert json.loads(health["body"]) == {"status": "ok"}
