"""The WebSocket edge (mayachat.edge.websocket) on the sample events, with the services
wired to fakes: every refusal is an error frame, a closing refusal goes out by
@connections and closes the socket, a store outage is `unavailable`, a bug is a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisDown

from mayachat import bootstrap
from mayachat.edge.websocket import FrameRoute, frame_route
from mayachat.model import Caller
from mayachat.protocol import TypingFrame
from tests.fakes import World
from tests.lambda_support import FakeLambdaContext

EVENTS = Path(__file__).resolve().parents[1] / "events"
CONTEXT = FakeLambdaContext("ws-typing")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(rooms_by_id={"room-1": {"alice", "bob"}})
    w.registry.register("c-bob", "bob")
    for name, service in (("frame_gate", w.frame_gate), ("delivery", w.delivery)):
        monkeypatch.setattr(bootstrap, name, lambda service=service: service)
    return w


def typing_event(body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "ws_typing.json").read_text())
    if body is not None:
        event["body"] = body
    return event


def served_by(world: World, fail: Exception | None = None) -> Any:
    def on_typing(caller: Caller, frame: TypingFrame) -> None:
        if fail is not None:
            raise fail
        world.typing.typing(caller, frame.roomId, frame.isTyping)

    return frame_route({"typing": FrameRoute(TypingFrame, on_typing)})


def frame_of(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


def test_a_frame_is_served_and_its_room_told(world: World) -> None:
    assert served_by(world)(typing_event(), CONTEXT) == {"statusCode": 200}
    (posted,) = world.gateway.sent
    assert posted[0] == "c-bob"
    assert json.loads(posted[1])["type"] == "typing"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "invalid_json"),
        ("[1]", "not_an_object"),
        ('{"action":"typing","roomId":"room-1"}', "invalid_field"),
        ('{"action":"typing","roomId":"room-9","isTyping":true}', "not_a_member"),
    ],
)
def test_a_bad_frame_is_answered_with_its_error_code(world: World, body: str, code: str) -> None:
    answer = frame_of(served_by(world)(typing_event(body), CONTEXT))
    assert (answer["type"], answer["code"]) == ("error", code)


def test_a_frame_on_a_route_the_function_does_not_serve_is_an_unknown_action(
    world: World,
) -> None:
    handler = frame_route({})  # the $default route
    answer = frame_of(handler(typing_event('{"action":"edit"}'), CONTEXT))
    assert (answer["code"], answer["message"]) == ("unknown_action", "unknown action 'edit'")


def test_a_flood_is_refused_then_closed_by_at_connections(world: World) -> None:
    handler, event = served_by(world), typing_event()
    burst, close_after = world.limits.connection_frames.burst, world.limits.close_after_refusals
    answers = [handler(event, CONTEXT) for _ in range(burst + close_after)]
    codes = [frame_of(a)["code"] for a in answers if "body" in a]
    assert codes == ["rate_limited"] * (close_after - 1)  # refused, as route responses...
    connection = event["requestContext"]["connectionId"]
    told = [json.loads(data) for cid, data in world.gateway.sent if cid == connection]
    assert [f["code"] for f in told] == ["rate_limited"]  # ...but the closing one is posted
    assert "closing" in told[0]["message"]
    assert connection in world.gateway.gone  # and the socket closed


def test_a_store_outage_is_unavailable_and_a_bug_is_an_internal_error(world: World) -> None:
    down = served_by(world, RedisDown("redis went away"))(typing_event(), CONTEXT)
    assert (down["statusCode"], frame_of(down)["code"]) == (200, "unavailable")
    bug = served_by(world, KeyError("oops"))(typing_event(), CONTEXT)
    assert (bug["statusCode"], frame_of(bug)["code"]) == (500, "internal_error")
    assert "test-request" in frame_of(bug)["message"]  # the request id, to report
