"""The REST function as Lambda runs it: Mangum turning HTTP API v2 events into requests."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from mayachat_local.devtools.devauth import mint
from tests.lambda_support import FakeLambdaContext as Context
from tests.lambda_support import load_handler_module

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = Context("RestApiFunction")
EVENT = json.loads((ROOT / "tests/events/rest_api_get_rooms.json").read_text())


@pytest.fixture(scope="module")
def rest_function(rest_environment: None) -> ModuleType:
    """functions/rest_api/app.py loaded from its file, as Lambda loads a handler."""
    return load_handler_module(ROOT / "functions/rest_api/app.py", "rest_api_app")


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
        event("POST", "/api/rooms", alice, {"type": "direct", "members": [bob]}), CONTEXT
    )
    assert created["statusCode"] == 201, created
    room = json.loads(created["body"])
    listed = rest_function.handler(event("GET", "/api/rooms", bob), CONTEXT)
    assert listed["statusCode"] == 200
    assert listed["headers"]["content-type"] == "application/json"
    assert [r["roomId"] for r in json.loads(listed["body"])["rooms"]] == [room["roomId"]]


def test_query_strings_and_errors_survive_the_translation(rest_function: ModuleType) -> None:
    bad = rest_function.handler(
        event("GET", "/api/messages/room/r1", "alice", query="limit=0"), CONTEXT
    )
    assert bad["statusCode"] == 422
    assert json.loads(bad["body"])["detail"][0]["loc"] == ["query", "limit"]
    anonymous = rest_function.handler(event("GET", "/api/rooms", None), CONTEXT)
    assert anonymous["statusCode"] == 401
    health = rest_function.handler(event("GET", "/health", None), CONTEXT)
    assert json.loads(health["body"]) == {"status": "ok"}
