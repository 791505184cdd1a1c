"""The frame gate: limits per connection and user, and the end of a flood."""

from __future__ import annotations

import pytest

from mayachat.errors import ChatError, ErrorCode
from mayachat.model import Caller
from tests.fakes import World

MALLORY = Caller("mallory", "c-mallory")


@pytest.fixture
def world() -> World:
    return World()


def refusal(world: World, caller: Caller = MALLORY, cmid: str | None = "m-1") -> ChatError:
    with pytest.raises(ChatError) as refused:
        world.frame_gate.admit(caller, lambda: cmid)
    return refused.value


def test_a_frame_over_the_limits_is_refused_naming_it(world: World) -> None:
    for _ in range(world.limits.connection_frames.burst):
        world.frame_gate.admit(MALLORY, lambda: None)
    refused = refusal(world)
    assert refused.code is ErrorCode.RATE_LIMITED
    assert refused.client_msg_id == "m-1"
    assert refused.retry_after
    assert not refused.closes


def test_a_connection_that_ignores_its_refusals_is_closed_and_must_wait_to_reconnect(
    world: World,
) -> None:
    for _ in range(world.limits.connection_frames.burst):
        world.frame_gate.admit(MALLORY, lambda: None)
    close_after = world.limits.close_after_refusals
    for _ in range(close_after - 1):
        assert not refusal(world).closes  # a refused frame or a few: only told to slow down
    closing = refusal(world)
    assert closing.closes
    assert closing.code is ErrorCode.RATE_LIMITED
    assert closing.retry_after == world.limits.reconnect_penalty_seconds
    assert not refusal(world).closes  # a frame still in flight: closing once is enough
    with pytest.raises(ChatError) as reconnect:  # the penalty: no new socket for a while...
        world.connections.connect(Caller("mallory", "c-mallory-2"))
    assert reconnect.value.code is ErrorCode.RATE_LIMITED
    world.connections.connect(Caller("alice", "c-alice"))  # ...for mallory alone
    world.limiter.repay()
    world.connections.connect(Caller("mallory", "c-mallory-2"))
