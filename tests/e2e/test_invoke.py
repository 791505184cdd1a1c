"""`make invoke`: every sample event in tests/events/ runs through its function once, from
template.yaml, against the local stack (sam local invoke without Docker)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mayachat_local.config import StackConfig
from mayachat_local.devtools.invoke import as_user, invoke

EVENTS = Path(__file__).resolve().parents[1] / "events"
# Each sample event and the function template.yaml gives it.
FUNCTIONS = {
    "ws_authorizer.json": "WsAuthorizerFunction",
    "ws_connect.json": "WsConnectFunction",
    "ws_disconnect.json": "WsDisconnectFunction",
    "ws_default.json": "WsDefaultFunction",
    "ws_ping.json": "WsPingFunction",
    "ws_send_message.json": "WsSendMessageFunction",
    "ws_typing.json": "WsTypingFunction",
    "ws_mark_delivered.json": "WsReceiptsFunction",
    "ws_mark_read.json": "WsReceiptsFunction",
    "ws_edit_message.json": "WsMessageChangesFunction",
    "ws_delete_message.json": "WsMessageChangesFunction",
    "ws_react.json": "WsMessageChangesFunction",
    "ws_sync.json": "WsSyncFunction",
    "ws_presence.json": "WsPresenceFunction",
    "persist_msk.json": "PersistFunction",
    "notify_msk.json": "NotifyFunction",
    "presence_msk.json": "PresenceFunction",
    "rest_api_health.json": "RestApiFunction",
    "rest_api_get_rooms.json": "RestApiFunction",
}


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


@pytest.fixture
def run(stack_config: StackConfig, mongodb_uri: str) -> Callable[[str, Any], tuple[int, Any]]:
    """Invoke against this session's own database (the dev database stays as it was)."""

    def invoked(function: str, payload: Any) -> tuple[int, Any]:
        return asyncio.run(invoke(stack_config, function, payload, {"MONGODB_URI": mongodb_uri}))

    return invoked


Run = Callable[[str, Any], tuple[int, Any]]


def test_every_sample_event_has_its_function() -> None:
    samples = {p.name for p in EVENTS.glob("*.json")} - {"env.json"}
    assert samples == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - {"ws_authorizer.json"}))
def test_each_sample_event_gets_its_functions_answer(name: str, run: Run) -> None:
    code, answer = run(FUNCTIONS[name], as_user(event(name), "alice"))
    assert code == 0, answer
    if name.endswith("_msk.json"):
        assert answer == {"batchItemFailures": []}
    else:
        assert answer["statusCode"] == 200, answer


def test_a_send_as_a_member_is_acked(
    run: Run, new_room: Callable[..., str], users: Callable[[str], str]
) -> None:
    alice = users("alice")
    sample = event("ws_send_message.json")
    frame = json.loads(sample["body"])
    sample["body"] = json.dumps({**frame, "roomId": new_room(alice, users("bob"))})
    code, answer = run("WsSendMessageFunction", as_user(sample, alice))
    assert code == 0, answer
    ack = json.loads(answer["body"])
    assert ack["type"] == "ack", ack
    assert (ack["type"], ack["clientMsgId"], ack["seq"]) == ("ack", frame["clientMsgId"], 1)


def test_the_authorizer_refuses_the_placeholder_and_admits_a_dev_token(run: Run) -> None:
    code, answer = run("WsAuthorizerFunction", event("ws_authorizer.json"))
    assert (code, answer["errorMessage"]) == (1, "Unauthorized")  # API Gateway's 401
    code, answer = run("WsAuthorizerFunction", as_user(event("ws_authorizer.json"), "alice"))
    assert code == 0, answer
    assert answer["context"]["userId"] == "alice"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_the_command_prints_only_the_answer_on_stdout(stack_config: StackConfig) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mayachat_local.devtools.invoke",
            "WsPingFunction",
            str(EVENTS / "ws_ping.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"])["type"] == "pong"
    assert "PingFunction" in done.stderr  # the function's REPORT line, on stderr


def test_an_unknown_function_is_named(run: Run) -> None:
    code, answer = run("NoSuchFunction", {})
    assert code == 2
    assert "NoSuchFunction" in answer["errorMessage"]
