"""The whole real-time path: real WebSocket clients -> the local API Gateway (from
template.yaml) -> the real route functions -> Kafka, Redis, MongoDB on the local stack."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from mayachat_local.config import StackConfig
from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.esm import LocalEventSourceMappings
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.stack import function_environment

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# The functions' environment in these tests: quiet logs, and the shortest abandon window the
# settings allow, so a test that loses Redis's data waits 10 s for catch-up, not 30.
E2E_ENV = {"POWERTOOLS_LOG_LEVEL": "WARNING", "SEQ_ABANDON_SECONDS": "10"}
Frame = dict[str, Any]
PRESENCE_DEBOUNCE = 1.0  # seconds a presence change holds before it is pushed, in these tests


@pytest.fixture(scope="session")
def persist(stack_endpoints: dict[str, str]) -> Iterator[LocalEventSourceMappings]:
    """The persist function behind both topics (fresh groups from the topics' end): catch-up
    (sync, REST) serves what it stored."""
    from tests.integration.esm_support import unique
    from tests.integration.test_esm_persist import start_group_at_end

    groups = {}
    for mapping, topic in (
        ("ChatMessages", "chat-messages"),
        ("StateEvents", "message-persistence"),
    ):
        groups[f"PersistFunction.{mapping}"] = group = unique(f"e2e-{mapping}")
        start_group_at_end(group, topic)
    env = {**function_environment(stack_endpoints), **E2E_ENV}
    persist_only = LocalEventSourceMappings(TEMPLATE, env, only=list(groups), group_ids=groups)
    with run_in_thread(persist_only) as esm:
        yield esm


@pytest.fixture(scope="module")
def notify(stack_endpoints: dict[str, str]) -> Iterator[LocalEventSourceMappings]:
    """The notify function on its mapping (a fresh group from the topic's end): pushes to
    offline members, recorded by the local SNS (mayachat_local.devtools.pushes)."""
    from tests.integration.esm_support import unique
    from tests.integration.test_esm_persist import start_group_at_end

    group = unique("e2e-notify")
    start_group_at_end(group, "chat-messages")
    env = {**function_environment(stack_endpoints), **E2E_ENV}
    esm = LocalEventSourceMappings(
        TEMPLATE,
        env,
        only=["NotifyFunction.ChatMessages"],
        group_ids={"NotifyFunction.ChatMessages": group},
    )
    with run_in_thread(esm) as running:
        yield running


@pytest.fixture(scope="module")
def presence_pushes(
    gateway: LocalWebSocketGateway, stack_endpoints: dict[str, str]
) -> Iterator[LocalEventSourceMappings]:
    """The presence function on its mapping (a fresh group from the topic's end), posting
    through this session's gateway, with a one-second debounce."""
    from tests.integration.esm_support import unique
    from tests.integration.test_esm_persist import start_group_at_end

    mapping = "PresenceFunction.PresenceChanges"
    group = unique("e2e-presence")
    start_group_at_end(group, "chat-presence")
    env = {
        **function_environment(stack_endpoints),
        **E2E_ENV,
        "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint,
        "PRESENCE_DEBOUNCE_SECONDS": str(PRESENCE_DEBOUNCE),
    }
    esm = LocalEventSourceMappings(TEMPLATE, env, only=[mapping], group_ids={mapping: group})
    with run_in_thread(esm) as running:
        yield running


@pytest.fixture(scope="session")
def gateway(
    stack_endpoints: dict[str, str],
    stack_config: StackConfig,
    persist: LocalEventSourceMappings,
) -> Iterator[LocalWebSocketGateway]:
    env = {**function_environment(stack_endpoints), **E2E_ENV}
    with run_in_thread(LocalWebSocketGateway(TEMPLATE, port=0, env_overrides=env)) as gw:
        yield gw


class Client:
    """A phone: one WebSocket, with helpers to send frames and wait for typed ones."""

    def __init__(self, ws: ClientConnection, user: str) -> None:
        self.ws = ws
        self.user = user
        self.inbox: list[Frame] = []
        self.updates: list[Frame] = []  # older messages changed, from the last catch_up
        self.cursor = 0  # where the last catch_up left the catch-up cursor

    def send(self, frame: Frame | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def expect(self, kind: str, timeout: float = 20.0, **fields: Any) -> Frame:
        """The first frame of `kind` (matching `fields`), received or already buffered."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.inbox:
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                    self.inbox.remove(frame)
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.user}: no {kind} {fields} within {timeout}s; got {self.inbox}"
                )
            try:
                self.inbox.append(json.loads(self.ws.recv(timeout=remaining)))
            except TimeoutError:
                continue

    def catch_up(self, room_id: str, after_seq: int, timeout: float = 20.0) -> list[Frame]:
        """Sync from `after_seq` as a phone does: the cursor moves only with what sync
        answers; again at once on hasMore, again in a moment until caughtUp."""
        messages: list[Frame] = []
        self.updates = []
        deadline = time.monotonic() + timeout
        while True:
            self.send({"action": "sync", "roomId": room_id, "afterSeq": after_seq})
            while True:
                frame = self.expect("sync", timeout=timeout, roomId=room_id)
                messages += frame["messages"]
                self.updates += frame["updates"]
                if frame["final"]:
                    after_seq = self.cursor = frame["upToSeq"]  # changes take seqs too
                    break
            if frame["hasMore"]:
                continue
            if frame["caughtUp"]:
                return messages
            assert time.monotonic() < deadline, f"{self.user}: never caught up in {room_id}"
            time.sleep(0.2)

    def expect_any(self, timeout: float = 20.0) -> Frame:
        """The next frame, whatever it is (buffered first)."""
        if self.inbox:
            return self.inbox.pop(0)
        frame: Frame = json.loads(self.ws.recv(timeout=timeout))
        return frame

    def barrier(self) -> None:
        """Round-trip a ping: frames the server sent before the pong are in the inbox."""
        self.send({"action": "ping"})
        self.expect("pong")

    def send_text(self, room_id: str, text: str, client_msg_id: str | None = None) -> Frame:
        cmid = client_msg_id or uuid.uuid4().hex[:16]
        self.send(
            {
                "action": "sendMessage",
                "roomId": room_id,
                "clientMsgId": cmid,
                "content": {"type": "text", "text": text},
            }
        )
        return self.expect("ack", clientMsgId=cmid)


@pytest.fixture
def phone(gateway: LocalWebSocketGateway) -> Iterator[Callable[[str], Client]]:
    with contextlib.ExitStack() as opened:

        def open_phone(user: str) -> Client:
            ws = opened.enter_context(connect(f"{gateway.url}?token={mint(user)}", open_timeout=20))
            client = Client(ws, user)
            client.barrier()  # $connect has run: the connection is registered
            return client

        yield open_phone


@pytest.fixture(scope="session")
def rest_api(
    gateway: LocalWebSocketGateway, stack_endpoints: dict[str, str]
) -> Iterator[LocalHttpApi]:
    """The REST function over HTTP (Mangum, HTTP API v2 events), posting to the gateway."""
    env = {
        **function_environment(stack_endpoints),
        **E2E_ENV,
        "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint,
    }
    with run_in_thread(LocalHttpApi(TEMPLATE, port=0, env_overrides=env)) as api:
        yield api


@pytest.fixture
def http(rest_api: LocalHttpApi) -> Iterator[httpx.Client]:
    """A client of the REST function over HTTP."""
    with httpx.Client(base_url=rest_api.url, timeout=20) as client:
        yield client


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(user)}"}


@pytest.fixture
def new_room(mongodb_uri: str) -> Callable[..., str]:
    from mayachat_local.devtools.rooms import create_room

    return lambda *members: create_room(list(members))


@pytest.fixture
def users() -> Callable[[str], str]:
    """Unique user ids per test, so tests never see each other's frames."""
    suffix = uuid.uuid4().hex[:6]
    return lambda name: f"{name}-{suffix}"


# Debian's chromium, driven by Playwright (never `playwright install`): the browser tests.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module: Playwright's sync API keeps an event loop running on this thread while it is
# open, and Mangum (the REST tests) needs that loop free.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (`make browser` installs it with apt)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
