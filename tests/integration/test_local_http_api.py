"""The REST function served locally over HTTP, through Mangum, by the local HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.http_api.routes import read_http_routes, select
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.stack import function_environment

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def api(
    stack_endpoints: dict[str, str],
) -> Iterator[httpx.Client]:
    env = {
        **function_environment(stack_endpoints),
        "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/local",
    }
    local = LocalHttpApi(TEMPLATE, port=0, env_overrides=env)
    with run_in_thread(local), httpx.Client(base_url=local.url, timeout=30) as client:
        yield client


def test_routes_come_from_the_template() -> None:
    routes = read_http_routes(TEMPLATE)
    assert {r.route_key for r in routes} >= {"ANY /api/{proxy+}", "GET /health"}
    found = select(routes, "GET", "/api/messages/room/r1")
    assert found is not None
    assert found[1] == {"proxy": "messages/room/r1"}
    assert select(routes, "GET", "/nowhere") is None


def test_a_room_is_created_and_listed_over_http(api: httpx.Client) -> None:
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    created = api.post(
        "/api/rooms",
        json={"type": "group", "members": [bob], "name": "team"},
        headers={"Authorization": f"Bearer {mint(alice)}"},
    )
    assert created.status_code == 201, created.text
    listed = api.get("/api/rooms", headers={"Authorization": f"Bearer {mint(bob)}"})
    assert [r["name"] for r in listed.json()["rooms"]] == ["team"]


def test_http_api_answers_like_api_gateway(api: httpx.Client) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    assert api.get("/api/rooms").status_code == 401
    assert api.get("/nowhere").status_code == 404
    assert api.get("/openapi.json").json()["info"]["title"] == "MayaChat REST API"
    bad = api.get("/api/messages/room/r1?limit=0", headers={"Authorization": f"Bearer {mint('x')}"})
    assert bad.status_code == 422
