"""A burst on a cold system, as a new user meets it straight after `make dev`: 20 sockets send
2,500 frames (mostly invalid, each socket under its rate limit) to a gateway that has not
started a single worker yet. Every frame gets its answer -- none an internal error -- no
socket drops, and a normal send right after is acked: cold starts wait for a turn on the CPU
(runtime.lambda_runtime.InitGate) instead of timing each other out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from mayachat_local.devtools.burst import FRAMES_PER_SOCKET, everyone
from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.stack import function_environment
from tests.e2e.conftest import E2E_ENV

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SOCKETS = 20  # x FRAMES_PER_SOCKET (125): 2,500 frames
INTERNAL = "Internal server error"  # API Gateway's answer when the function failed
INTERNAL_CODE = "internal_error"  # ours, when the handler caught a bug


@pytest.fixture
def cold_gateway(stack_endpoints: dict[str, str]) -> Iterator[LocalWebSocketGateway]:
    """A gateway of this test's own: no warm worker anywhere. Rate limits out of reach: frames
    held while workers start are served in a clump, which the limits would rightly refuse,
    and this test is about the runtime, whatever the machine's speed."""
    unlimited = dict.fromkeys(
        (
            "RATE_LIMIT_BURST",
            "RATE_LIMIT_PER_SECOND",
            "USER_RATE_LIMIT_BURST",
            "USER_RATE_LIMIT_PER_SECOND",
        ),
        "100000",
    )
    env = {**function_environment(stack_endpoints), **E2E_ENV, **unlimited}
    with run_in_thread(LocalWebSocketGateway(TEMPLATE, port=0, env_overrides=env)) as gateway:
        yield gateway


def test_a_cold_system_answers_every_frame_of_a_burst_then_acks_a_send(
    cold_gateway: LocalWebSocketGateway,
    new_room: Callable[..., str],
) -> None:
    suffix = uuid.uuid4().hex[:6]
    users = [f"burst{i}-{suffix}" for i in range(SOCKETS)]
    answered = asyncio.run(everyone(cold_gateway.url, users))

    assert [len(a) for a in answered] == [FRAMES_PER_SOCKET] * SOCKETS  # no socket dropped
    frames = [json.loads(a) for answers in answered for a in answers]
    internal = [
        f for f in frames if f.get("message") == INTERNAL or f.get("code") == "internal_error"
    ]
    assert internal == []
    assert {f["type"] for f in frames} <= {"error", "pong"}
    refused = {f["code"] for f in frames if f["type"] == "error"}
    assert refused <= {"invalid_json", "unknown_action", "not_a_member"}

    room = new_room(users[0], users[1])

    async def send() -> dict[str, object]:
        async with connect(f"{cold_gateway.url}?token={mint(users[0])}") as ws:
            frame = {
                "action": "sendMessage",
                "roomId": room,
                "clientMsgId": "after-the-burst",
                "content": {"type": "text", "text": "still here"},
            }
            await ws.send(json.dumps(frame))
            answer: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return answer

    ack = asyncio.run(send())
    assert (ack["type"], ack["clientMsgId"]) == ("ack", "after-the-burst")
