"""A backing store that does not answer is a retryable refusal, never a bug: the real route
and REST functions, pointed at ports where no Redis or MongoDB listens (the connection is
refused for real)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mayachat import bootstrap
from mayachat_local.devtools.devauth import mint
from tests.lambda_support import FakeLambdaContext, load_handler_module

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when we return: nobody listens


@pytest.fixture
def nothing_listens(rest_environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{_closed_port()}/mayachat")
    bootstrap.reset()
    yield
    monkeypatch.undo()
    bootstrap.reset()


def test_a_send_while_redis_is_down_is_unavailable_with_its_client_msg_id(
    nothing_listens: None,
) -> None:
    app = load_handler_module(ROOT / "functions/ws_send_message/app.py", "send_outage_app")
    event = json.loads((ROOT / "tests/events/ws_send_message.json").read_text())
    answer = app.handler(event, FakeLambdaContext("WsSendMessageFunction"))
    frame = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert (frame["type"], frame["code"], frame["clientMsgId"]) == (
        "error",
        "unavailable",
        "c-7f3a9b",
    )


def test_rest_while_mongodb_is_down_is_a_503_to_retry(nothing_listens: None) -> None:
    from mayachat.rest.app import create_app

    rest = TestClient(create_app(), raise_server_exceptions=False)
    response = rest.get("/api/rooms", headers={"Authorization": f"Bearer {mint('alice')}"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "unavailable"
