"""The @connections adapter: against the local API Gateway (real WebSocket clients), and
against a scripted HTTP server for what a gateway cannot be made to do on demand (throttle,
fail, drop the connection) and to compare its signature with the boto3 client's."""

from __future__ import annotations

import contextlib
import datetime
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from mayachat.adapters import apigw_connections
from mayachat.adapters.apigw_connections import ApiGatewayConnections
from mayachat.ports import Posted
from mayachat_local.gateway import LocalWebSocketGateway, run_in_thread

TEMPLATE = Path(__file__).parents[1] / "fixtures" / "gateway" / "template.yaml"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWebSocketGateway]:
    records = tmp_path_factory.mktemp("records")
    gateway = LocalWebSocketGateway(TEMPLATE, port=0, env_overrides={"RECORD_DIR": str(records)})
    with run_in_thread(gateway):
        yield gateway


@contextlib.contextmanager
def phone(gateway: LocalWebSocketGateway) -> Iterator[tuple[ClientConnection, str]]:
    with connect(f"{gateway.url}?token=good", open_timeout=30) as ws:
        ws.send(json.dumps({"action": "echo"}))  # the echo tells the connection id
        yield ws, json.loads(ws.recv(timeout=15))["connectionId"]


def test_posts_reach_their_connections_and_gone_ones_are_reported(
    gateway: LocalWebSocketGateway,
) -> None:
    posts = ApiGatewayConnections(gateway.management_endpoint, "us-east-1", credentials=CREDENTIALS)
    with contextlib.ExitStack() as stack:
        pairs = [stack.enter_context(phone(gateway)) for _ in range(6)]
        closed_ws, closed_id = pairs.pop()
        closed_ws.close()

        assert posts.post_many([(pairs[0][1], b"one")]) == Posted()
        assert pairs[0][0].recv(timeout=10) == "one"

        frames = [(cid, f"to {cid}".encode()) for _, cid in pairs]
        posted = posts.post_many([*frames, (closed_id, b"late"), ("AAAAAAAAAAAAAAA=", b"never")])
        assert posted == Posted(gone=frozenset({closed_id, "AAAAAAAAAAAAAAA="}))
        for ws, cid in pairs:
            assert ws.recv(timeout=10) == f"to {cid}"


def test_close_ends_the_connection_and_it_is_gone_after(
    gateway: LocalWebSocketGateway,
) -> None:
    posts = ApiGatewayConnections(gateway.management_endpoint, "us-east-1", credentials=CREDENTIALS)
    with phone(gateway) as (ws, connection_id):
        posts.close(connection_id)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert posts.post_many([(connection_id, b"late")]).gone == {connection_id}
        posts.close(connection_id)  # closing a gone one is fine


def test_a_refused_post_is_logged_not_reported_gone(
    gateway: LocalWebSocketGateway, caplog: pytest.LogCaptureFixture
) -> None:
    posts = ApiGatewayConnections(gateway.management_endpoint, "us-east-1", credentials=CREDENTIALS)
    with phone(gateway) as (_, connection_id):
        assert posts.post_many([(connection_id, b"x" * (128 * 1024 + 1))]) == Posted(failed=1)
    failures = [r for r in caplog.records if r.getMessage() == "delivery failed"]
    assert len(failures) == 1
    assert failures[0].status == 413  # type: ignore[attr-defined]
    assert "PayloadTooLargeException" in failures[0].error  # type: ignore[attr-defined]


# ----------------------------------------------------------------- a scripted HTTP server
class Script:
    """Answers in order (the last one repeats); "drop" closes the connection unanswered."""

    def __init__(self, *answers: int | str) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def next(self, path: str, headers: dict[str, str], body: bytes) -> int | str:
        with self.lock:
            self.requests.append((path, headers, body))
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextlib.contextmanager
def scripted(script: Script) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like API Gateway

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = script.next(self.path, dict(self.headers.items()), body)
            if answer == "drop":
                self.close_connection = True
                return
            status = int(answer)
            payload = json.dumps({"message": f"answer {status}"}).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("x-amzn-ErrorType", "LimitExceededException")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prod"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apigw_connections, "_backoff", lambda attempt: 0.0)


def test_throttles_and_server_errors_are_retried_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttled = Script(429, 503, 200)
    with scripted(throttled) as endpoint:
        posts = ApiGatewayConnections(endpoint, "us-east-1", credentials=CREDENTIALS)
        assert posts.post_many([("abc=", b"hello")]) == Posted()
    assert len(throttled.requests) == 3
    assert not [r for r in caplog.records if r.getMessage() == "delivery failed"]

    failing = Script(500)
    with scripted(failing) as endpoint:
        posts = ApiGatewayConnections(endpoint, "us-east-1", credentials=CREDENTIALS)
        assert posts.post_many([("abc=", b"hello")]) == Posted(failed=1)
    assert len(failing.requests) == apigw_connections.MAX_ATTEMPTS
    [failure] = [r for r in caplog.records if r.getMessage() == "delivery failed"]
    assert failure.status == 500  # type: ignore[attr-defined]


def test_a_dropped_keep_alive_connection_is_reopened() -> None:
    script = Script(200, "drop", 410)
    with scripted(script) as endpoint:
        posts = ApiGatewayConnections(endpoint, "us-east-1", credentials=CREDENTIALS)
        assert posts.post_many([("first", b"1")]) == Posted()
        assert posts.post_many([("second", b"2")]) == Posted(gone=frozenset({"second"}))
    assert [path for path, _, _ in script.requests] == [
        "/prod/@connections/first",
        "/prod/@connections/second",
        "/prod/@connections/second",
    ]


def test_requests_are_signed_exactly_as_the_boto3_client_signs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = datetime.datetime(2026, 11, 26, 12, 0, 0)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: frozen)
    script = Script(200)
    with scripted(script) as endpoint:
        ApiGatewayConnections(endpoint, "eu-west-1", credentials=CREDENTIALS).post_many(
            [("Ab1=+/x", b'{"type":"ack"}')]
        )
        boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id=CREDENTIALS.access_key,
            aws_secret_access_key=CREDENTIALS.secret_key,
            aws_session_token=CREDENTIALS.token,
            config=Config(retries={"total_max_attempts": 1}),
        ).post_to_connection(ConnectionId="Ab1=+/x", Data=b'{"type":"ack"}')
    ours, theirs = script.requests
    assert ours[0] == theirs[0] == "/prod/@connections/Ab1%3D%2B%2Fx"
    assert ours[2] == theirs[2]
    for header in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        assert ours[1][header] == theirs[1][header]


def test_without_credentials_a_post_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    script = Script(200)
    with scripted(script) as endpoint:
        posts = ApiGatewayConnections(endpoint, "us-east-1")  # builds: cold start never fails
        assert posts.post_many([("abc", b"hello")]) == Posted(failed=1)
    assert script.requests == []
    [failure] = [r for r in caplog.records if r.getMessage() == "delivery failed"]
    assert "credentials" in failure.error  # type: ignore[attr-defined]
