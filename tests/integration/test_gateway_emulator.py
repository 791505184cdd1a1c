"""The local API Gateway WebSocket emulator, driven by real clients (websockets, boto3)
against the small API in tests/fixtures/gateway/template.yaml."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from botocore.config import Config
from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from mayachat_local.gateway import LocalWebSocketGateway, Quotas, run_in_thread

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gateway"
TEMPLATE = FIXTURES / "template.yaml"
KB = 1024


# ---------------------------------------------------------------------------- helpers
def _start(
    tmp_path_factory: pytest.TempPathFactory, template: Path = TEMPLATE, **kwargs: Any
) -> Iterator[LocalWebSocketGateway]:
    records = tmp_path_factory.mktemp("records")
    gateway = LocalWebSocketGateway(
        template,
        port=0,
        env_overrides={"RECORD_DIR": str(records), "OVERRIDE": "from-the-caller"},
        **kwargs,
    )
    with run_in_thread(gateway):
        yield gateway


def records(gateway: LocalWebSocketGateway) -> Path:
    return Path(gateway.env_overrides["RECORD_DIR"])


def open_ws(
    gateway: LocalWebSocketGateway, query: str = "token=good", close_timeout: float = 10
) -> ClientConnection:
    url = f"{gateway.url}?{query}" if query else gateway.url
    return connect(url, open_timeout=20, close_timeout=close_timeout)


def ask(ws: ClientConnection, frame: str | bytes | list[str]) -> dict[str, Any]:
    ws.send(frame)
    reply: dict[str, Any] = json.loads(ws.recv(timeout=15))
    return reply


def management(gateway: LocalWebSocketGateway, **config: Any) -> ApiGatewayManagementApiClient:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.management_endpoint,
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def disconnects(gateway: LocalWebSocketGateway, connection_id: str) -> list[dict[str, Any]]:
    path = records(gateway) / f"disconnect-{connection_id}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def only_disconnect(gateway: LocalWebSocketGateway, connection_id: str) -> dict[str, Any]:
    """The $disconnect event, after checking it ran exactly once."""
    wait_for(lambda: disconnects(gateway, connection_id))
    time.sleep(0.3)  # a second invocation would have landed by now
    events = disconnects(gateway, connection_id)
    assert len(events) == 1, events
    return events[0]


def close_code(ws: ClientConnection, keep_busy: bool = False) -> int | None:
    """Read until the server closes; its close code. Busy: send a frame every 0.3 s too,
    whether or not the replies have come (a cold start must not open an idle gap)."""
    try:
        while True:
            if keep_busy:
                ws.send(json.dumps({"action": "echo"}))
            until = time.monotonic() + (0.3 if keep_busy else 10)
            with contextlib.suppress(TimeoutError):
                while True:
                    ws.recv(timeout=max(0.0, until - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def connection_id_of(gateway: LocalWebSocketGateway, marker: str) -> str:
    """The id of the connection opened with `&marker=...`, from its recorded $connect."""
    for path in records(gateway).glob("connect-*.json"):
        event = json.loads(path.read_text())
        if (event.get("queryStringParameters") or {}).get("marker") == marker:
            return str(event["requestContext"]["connectionId"])
    raise AssertionError(f"no $connect with marker {marker}")


def refused_with(ws: ClientConnection, frame: str | list[str]) -> int | None:
    """Send a frame over a quota; the close code the gateway answers with."""
    with contextlib.suppress(ConnectionClosed):  # the close may interrupt our send
        ws.send(frame)
    return close_code(ws)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWebSocketGateway]:
    yield from _start(tmp_path_factory)


# ---------------------------------------------------------------------------- handshake
def test_a_good_token_connects_and_frames_are_echoed(gateway: LocalWebSocketGateway) -> None:
    with open_ws(gateway) as ws:
        reply = ask(ws, json.dumps({"action": "echo", "text": "hi"}))
    assert reply["route"] == "echo"
    assert json.loads(reply["body"]) == {"action": "echo", "text": "hi"}
    assert reply["isBase64Encoded"] is False
    # The authorizer's context reaches every MESSAGE event, stringified, with its principal.
    authorizer = reply["authorizer"]
    assert isinstance(authorizer.pop("integrationLatency"), int)
    assert authorizer == {"userId": "u-1", "admin": "false", "level": "3", "principalId": "user-1"}


def test_workers_get_the_template_environment_and_a_lambda_context(
    gateway: LocalWebSocketGateway,
) -> None:
    with open_ws(gateway) as ws:
        reply = ask(ws, json.dumps({"action": "echo"}))
    assert reply["env"] == {
        "GLOBAL_PLAIN": "from-globals",
        "SHADOWED": "function",  # the function's value over Globals
        "FUNCTION_NUMBER": "42",
        "UNRESOLVABLE": None,  # a !Sub: not resolvable locally, left out
        "OVERRIDE": "from-the-caller",
        "AWS_LAMBDA_FUNCTION_NAME": "EchoFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "5",
        "AWS_REGION": gateway.region,
        "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint,
    }
    context = reply["context"]
    assert context["function_name"] == "EchoFunction"
    assert context["function_version"] == "$LATEST"
    assert context["memory_limit_in_mb"] == "256"
    assert re.fullmatch(
        r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:EchoFunction", context["invoked_function_arn"]
    )
    assert context["log_group_name"] == "/aws/lambda/EchoFunction"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 5000
    assert re.fullmatch(r"[0-9a-f-]{36}", context["aws_request_id"])


def test_handler_output_is_logged_with_the_function_name(
    gateway: LocalWebSocketGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mayachat_local.lambda")
    with open_ws(gateway) as ws:
        ask(ws, json.dumps({"action": "echo", "pad": "x" * 10}))
    assert any("[EchoFunction] echo handled a frame of" in r.getMessage() for r in caplog.records)


def authorizer_calls(gateway: LocalWebSocketGateway) -> int:
    log = records(gateway) / "authorizer.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.parametrize(
    ("query", "status", "authorizer_called"),
    [
        ("", 401, False),  # no identity source: refused without calling the authorizer
        ("token=", 401, False),
        ("token=bad", 401, True),  # the authorizer raised "Unauthorized"
        ("token=deny", 403, True),  # a Deny policy
        ("token=boom", 500, True),  # the authorizer crashed
        ("token=good&reject=1", 403, True),  # $connect answered 403
        ("token=good&crash=1", 500, True),  # $connect raised
    ],
)
def test_refused_handshakes(
    gateway: LocalWebSocketGateway, query: str, status: int, authorizer_called: bool
) -> None:
    before = authorizer_calls(gateway)
    with pytest.raises(InvalidStatus) as refused:
        open_ws(gateway, query)
    assert refused.value.response.status_code == status
    assert json.loads(refused.value.response.body or b"{}")["message"]
    assert authorizer_calls(gateway) == before + authorizer_called


def test_a_refused_connect_never_runs_disconnect(gateway: LocalWebSocketGateway) -> None:
    with pytest.raises(InvalidStatus):
        open_ws(gateway, "token=good&reject=1&marker=refused-once")
    time.sleep(0.5)
    assert disconnects(gateway, connection_id_of(gateway, "refused-once")) == []


def test_the_authorizer_runs_for_every_connection(gateway: LocalWebSocketGateway) -> None:
    before = authorizer_calls(gateway)
    for _ in range(2):
        with open_ws(gateway):
            pass
    assert authorizer_calls(gateway) == before + 2  # nothing cached between connections


# ---------------------------------------------------------------------------- routing
def test_a_two_way_route_sends_the_response_body_a_one_way_route_drops_it(
    gateway: LocalWebSocketGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with open_ws(gateway) as ws:
        assert ask(ws, json.dumps({"action": "reply"})) == {
            "route": "reply",
            "answer": "in the route response",
        }
        ws.send(json.dumps({"action": "reply", "binary": True}))
        assert ws.recv(timeout=15) == b"\x00bin"  # isBase64Encoded: a binary frame
        # One-way: nothing comes back; the next frame's answer is the first one received.
        ws.send(json.dumps({"action": "noreply"}))
        assert ask(ws, json.dumps({"action": "echo"}))["route"] == "echo"
    assert "route noreply returned a body but has no route response" in caplog.text


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ('{"action": "echo"}', "echo"),
        ('{"action": "nothing-declared"}', "$default"),
        ("not json at all", "$default"),
        ("[1, 2, 3]", "$default"),  # JSON, not an object
        ('{"other": "echo"}', "$default"),  # no selection field
        ('{"action": 5}', "$default"),  # not a string
        ('{"action": "$connect"}', "$default"),  # special routes are never selected
    ],
)
def test_route_selection(gateway: LocalWebSocketGateway, frame: str, route: str) -> None:
    with open_ws(gateway) as ws:
        reply = ask(ws, frame)
    assert reply["route"] == route
    assert reply["body"] == frame


def test_binary_frames_go_to_default_base64_encoded(gateway: LocalWebSocketGateway) -> None:
    data = b"\x00\x01binary\xff"
    with open_ws(gateway) as ws:
        reply = ask(ws, data)
    assert reply["route"] == "$default"
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(reply["body"]) == data


def test_without_default_an_unroutable_frame_gets_the_forbidden_frame(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for gw in _start(tmp_path_factory, FIXTURES / "no_default.yaml"):
        with connect(gw.url, open_timeout=20) as ws:  # no authorizer, no $connect route
            refused = ask(ws, "hello")
            echoed = ask(ws, json.dumps({"action": "echo"}))
    assert refused["message"] == "Forbidden"
    assert refused["connectionId"] == echoed["connectionId"]
    assert re.fullmatch(r"[A-Za-z0-9_=-]{16}", refused["requestId"])
    assert echoed["route"] == "echo"
    assert echoed["authorizer"] is None


def test_integration_timeout_answers_the_client(tmp_path_factory: pytest.TempPathFactory) -> None:
    quotas = Quotas(integration_timeout=0.3)  # API Gateway's 29 s, shrunk
    for gw in _start(tmp_path_factory, FIXTURES / "no_default.yaml", quotas=quotas):
        with connect(gw.url, open_timeout=20) as ws:
            reply = ask(ws, json.dumps({"action": "sleep"}))
    assert reply["message"] == "Endpoint request timed out"


def test_stopping_the_gateway_closes_connections_with_1001(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with contextlib.ExitStack() as stack:
        for gw in _start(tmp_path_factory):
            ws = stack.enter_context(open_ws(gw, "token=good&marker=stop"))
            connection_id = connection_id_of(gw, "stop")
        # The gateway has stopped: the client was told, and $disconnect ran before the end.
        assert close_code(ws) == 1001
    (event,) = disconnects(gw, connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


# ---------------------------------------------------------------------------- event shapes
def test_events_match_the_powertools_models(gateway: LocalWebSocketGateway) -> None:
    with open_ws(gateway, "token=good&room=r1&room=r2") as ws:
        reply = ask(ws, json.dumps({"action": "echo"}))
    connection_id, message_id = reply["connectionId"], reply["messageId"]
    base = records(gateway)
    connect_event = json.loads((base / f"connect-{connection_id}.json").read_text())
    message_event = json.loads((base / f"message-{message_id}.json").read_text())
    disconnect_event = only_disconnect(gateway, connection_id)
    authorizer_event = next(
        json.loads(line)
        for line in (base / "authorizer.jsonl").read_text().splitlines()
        if json.loads(line)["requestContext"]["connectionId"] == connection_id
    )

    APIGatewayWebSocketConnectEventModel.model_validate(connect_event)
    APIGatewayWebSocketMessageEventModel.model_validate(message_event)
    APIGatewayWebSocketDisconnectEventModel.model_validate(disconnect_event)

    assert authorizer_event["type"] == "REQUEST"
    assert authorizer_event["methodArn"] == (
        f"arn:aws:execute-api:{gateway.region}:123456789012:{gateway.api_id}/test/$connect"
    )
    assert authorizer_event["queryStringParameters"] == {"token": "good", "room": "r2"}
    assert authorizer_event["multiValueQueryStringParameters"]["room"] == ["r1", "r2"]
    assert authorizer_event["stageVariables"] == {}
    assert "authorizer" not in authorizer_event["requestContext"]

    ctx = connect_event["requestContext"]
    assert ctx["routeKey"] == "$connect"
    assert ctx["eventType"] == "CONNECT"
    assert ctx["messageDirection"] == "IN"
    assert ctx["stage"] == "test"
    assert ctx["apiId"] == gateway.api_id
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert "websockets" in ctx["identity"]["userAgent"]
    assert ctx["authorizer"]["principalId"] == "user-1"
    for header in ("Host", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "X-Forwarded-For"):
        assert header in connect_event["headers"]
    assert connect_event["queryStringParameters"]["token"] == "good"

    mctx = message_event["requestContext"]
    assert mctx["eventType"] == "MESSAGE"
    assert mctx["routeKey"] == "echo"
    assert mctx["connectedAt"] == ctx["connectedAt"]
    assert mctx["authorizer"] == ctx["authorizer"]
    assert message_event["isBase64Encoded"] is False
    assert "headers" not in message_event

    dctx = disconnect_event["requestContext"]
    assert dctx["eventType"] == "DISCONNECT"
    assert dctx["disconnectStatusCode"] == 1000  # the client closed normally
    assert dctx["authorizer"]["userId"] == "u-1"


# ---------------------------------------------------------------------------- @connections
def test_post_get_delete_through_boto3(gateway: LocalWebSocketGateway) -> None:
    client = management(gateway)
    with open_ws(gateway) as ws:
        connection_id = ask(ws, json.dumps({"action": "echo"}))["connectionId"]
        client.post_to_connection(ConnectionId=connection_id, Data=b"pushed by boto3")
        assert ws.recv(timeout=10) == "pushed by boto3"

        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert "websockets" in info["Identity"]["UserAgent"]
        assert info["ConnectedAt"] <= info["LastActiveAt"]

        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * KB + 1))

        client.delete_connection(ConnectionId=connection_id)
        assert close_code(ws) == 1000
    assert only_disconnect(gateway, connection_id)["requestContext"]["disconnectStatusCode"] == 1000

    # Closed, or never known: GoneException (410), for every verb.
    for gone_id in (connection_id, "AAAAAAAAAAAAAAA="):
        with pytest.raises(client.exceptions.GoneException):
            client.post_to_connection(ConnectionId=gone_id, Data=b"anyone?")
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId=gone_id)
        with pytest.raises(client.exceptions.GoneException):
            client.delete_connection(ConnectionId=gone_id)


def test_fan_out_is_not_held_up_by_a_client_that_does_not_read(
    gateway: LocalWebSocketGateway,
) -> None:
    with contextlib.ExitStack() as stack:
        fast = [stack.enter_context(open_ws(gateway)) for _ in range(5)]
        # This one never reads: its buffers fill, and posting to it must not block others.
        # (Closing it would wait for megabytes it never read: don't wait long.)
        slow = stack.enter_context(open_ws(gateway, close_timeout=0.2))
        fan_out_to(gateway, fast, slow)


def fan_out_to(
    gateway: LocalWebSocketGateway, fast: list[ClientConnection], slow: ClientConnection
) -> None:
    ids = [ask(ws, json.dumps({"action": "echo"}))["connectionId"] for ws in [*fast, slow]]
    slow_id = ids.pop()
    per_client = 100
    received: dict[str, list[str]] = {cid: [] for cid in ids}

    def drain(ws: ClientConnection, cid: str) -> None:
        while len(received[cid]) < per_client:
            received[cid].append(str(ws.recv(timeout=30)))

    readers = [
        threading.Thread(target=drain, args=(ws, cid)) for ws, cid in zip(fast, ids, strict=True)
    ]
    for reader in readers:
        reader.start()
    client = management(gateway, max_pool_connections=64)

    def post(cid: str, data: bytes) -> str:
        try:
            client.post_to_connection(ConnectionId=cid, Data=data)
        except client.exceptions.LimitExceededException:
            return "limited"  # AWS's answer once a client's buffer is full
        return "ok"

    fan_out = [(cid, f"{cid}:{n}".encode()) for n in range(per_client) for cid in ids]
    flood = [(slow_id, b"y" * (100 * KB))] * 150
    jobs = fan_out + flood
    random.Random(7).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = dict(zip(range(len(jobs)), pool.map(lambda job: post(*job), jobs), strict=True))
    for reader in readers:
        reader.join(timeout=30)
    assert all(results[i] == "ok" for i, job in enumerate(jobs) if job[0] != slow_id)
    assert {results[i] for i, job in enumerate(jobs) if job[0] == slow_id} <= {"ok", "limited"}
    for cid in ids:
        assert sorted(received[cid]) == sorted(f"{cid}:{n}" for n in range(per_client))


# ---------------------------------------------------------------------------- quotas
def test_default_quotas_128_kb_message_in_32_kb_frames(gateway: LocalWebSocketGateway) -> None:
    def message(size: int) -> list[str]:
        head = '{"action": "echo", "pad": "'
        text = head + "p" * (size - len(head) - 2) + '"}'
        assert len(text) == size
        return [text[i : i + 32 * KB] for i in range(0, size, 32 * KB)]

    with open_ws(gateway) as ws:
        assert ask(ws, message(128 * KB))["bodyLength"] == 128 * KB
        connection_id = ask(ws, json.dumps({"action": "echo"}))["connectionId"]
        assert refused_with(ws, message(128 * KB + 1)) == 1009
    assert only_disconnect(gateway, connection_id)["requestContext"]["disconnectStatusCode"] == 1009

    with open_ws(gateway) as ws:
        one_frame = '{"action": "echo", "pad": "' + "f" * 33 * KB + '"}'
        assert refused_with(ws, one_frame) == 1009


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWebSocketGateway]:
    """Small size quotas, normal timeouts: a cold worker cannot trip the idle timer."""
    yield from _start(
        tmp_path_factory, quotas=Quotas(max_message_bytes=2 * KB, max_frame_bytes=1 * KB)
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWebSocketGateway]:
    """Short idle timeout and lifetime. The echo worker is warmed first: a cold start on a
    busy machine can take longer than the idle timeout, which would close the socket before
    the reply the tests wait for (the emulator behaving right, the test timing wrong)."""
    for gateway in _start(tmp_path_factory, quotas=Quotas(idle_timeout=2.0, max_lifetime=5.0)):
        for _ in range(5):  # a cold reply may miss the idle timer; the worker is warm after
            with contextlib.suppress(ConnectionClosed), open_ws(gateway) as ws:
                ask(ws, json.dumps({"action": "echo"}))
                break
        yield gateway


def test_small_message_and_frame_quotas(tight: LocalWebSocketGateway) -> None:
    body = json.dumps({"action": "echo", "pad": "z" * 1500})
    with open_ws(tight) as ws:
        halves = [body[: len(body) // 2], body[len(body) // 2 :]]
        assert ask(ws, halves)["bodyLength"] == len(body)  # 1.5 KB in two frames: fine
        # 2.4 KB in frames of 800 bytes: over the message quota
        assert refused_with(ws, ["r" * 800] * 3) == 1009
    with open_ws(tight) as ws:
        assert refused_with(ws, "q" * (KB + 1)) == 1009  # one frame over the frame quota


def test_idle_connections_are_closed_and_disconnected_once(small: LocalWebSocketGateway) -> None:
    with open_ws(small) as ws:
        connection_id = ask(ws, json.dumps({"action": "echo"}))["connectionId"]
        assert close_code(ws) == 1001  # nothing sent for idle_timeout
    event = only_disconnect(small, connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert event["requestContext"]["disconnectReason"] == "Going away"


def test_the_connection_lifetime_ends_even_busy_connections(small: LocalWebSocketGateway) -> None:
    with open_ws(small, "token=good&marker=busy") as ws:
        # busy: a message every 0.3 s keeps the idle timer (2 s) away
        assert close_code(ws, keep_busy=True) == 1001
    context = only_disconnect(small, connection_id_of(small, "busy"))["requestContext"]
    assert context["disconnectStatusCode"] == 1001
    # By the gateway's own clock, it lived at least its lifetime (2.5 s).
    assert context["requestTimeEpoch"] - context["connectedAt"] >= 2500


# ---------------------------------------------------------------------------- the runtime
def test_timeouts_and_exceptions_fail_the_invocation_not_the_gateway(
    gateway: LocalWebSocketGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mayachat_local.lambda")
    with open_ws(gateway) as ws:
        timed_out = ask(ws, json.dumps({"action": "sleep"}))
        raised = ask(ws, json.dumps({"action": "boom"}))
        still_there = ask(ws, json.dumps({"action": "echo"}))
    assert timed_out["message"] == "Internal server error"
    assert raised["message"] == "Internal server error"
    assert still_there["route"] == "echo"
    assert gateway.runtime.pool("SleeperFunction").worker_pids == []  # killed, not reused
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "Task timed out after 1.00 seconds" in log
    assert "ValueError: boom goes the handler" in log
    assert 'File "' in log  # the traceback
    assert '"routeKey": "boom"' in log  # and the event that caused it


def test_invocations_of_one_connection_run_concurrently(gateway: LocalWebSocketGateway) -> None:
    with open_ws(gateway) as ws:
        for tag in range(3):
            ws.send(json.dumps({"action": "slow", "seconds": 1.5, "tag": tag}))
        done = [json.loads(ws.recv(timeout=20)) for _ in range(3)]
    assert sorted(d["tag"] for d in done) == [0, 1, 2]
    # Timestamps from the handlers themselves: every run started before any run ended.
    assert max(d["start"] for d in done) < min(d["end"] for d in done)
    assert len({d["pid"] for d in done}) == 3  # three containers


def test_a_warm_worker_imports_the_handler_once_and_reload_retires_it(
    gateway: LocalWebSocketGateway,
) -> None:
    def count() -> dict[str, Any]:
        reply = ask(ws, json.dumps({"action": "count"}))
        # The reply is posted mid-invocation: give the worker a moment to become idle
        # again, or the next frame finds it busy and (rightly) starts a second one.
        time.sleep(0.2)
        return reply

    with open_ws(gateway) as ws:
        runs = [count() for _ in range(3)]
        assert {r["pid"] for r in runs} == {runs[0]["pid"]}
        assert [r["loads"] for r in runs] == [1, 1, 1]
        assert [r["calls"] for r in runs] == [runs[0]["calls"] + n for n in range(3)]

        gateway.reload("CounterFunction")
        time.sleep(0.2)
        fresh = count()
    assert fresh["pid"] != runs[0]["pid"]
    assert (fresh["loads"], fresh["calls"]) == (1, 1)
