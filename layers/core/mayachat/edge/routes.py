"""Every WebSocket route in one table: its key, its frame, the service call, its function.

Each functions/ws_*/app.py is one line, `handler = websocket_handler("<FunctionLogicalId>")`;
tests check template.yaml, tests/events, docs/protocol.md and docs/asyncapi.yaml against
this table. A new action is a frame model (mayachat.protocol), a service call and a row here,
then its function in template.yaml (tests/unit/test_routes.py says what is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mayachat import bootstrap, snapstart
from mayachat.edge.websocket import (
    FrameRoute,
    LambdaHandler,
    Reply,
    connect_route,
    default_route,
    disconnect_route,
    frame_route,
    logger,
)
from mayachat.model import Caller, ReceiptKind
from mayachat.presence import presence_frame

if TYPE_CHECKING:  # imported at the first frame (FrameRoute): pydantic is not a cold start's
    from mayachat.protocol import (
        DeleteMessageFrame,
        EditMessageFrame,
        MarkFrame,
        PingFrame,
        PresenceAskFrame,
        ReactFrame,
        SendMessageFrame,
        SyncFrame,
        TypingFrame,
    )

CONNECT, DISCONNECT, DEFAULT = "$connect", "$disconnect", "$default"


def _send_message(caller: Caller, frame: SendMessageFrame) -> Reply:
    # To Kafka first (then the ack), then to the room's online members.
    messaging = bootstrap.messaging()
    content = frame.content.model_dump(exclude_none=True)  # what the client left out stays out
    sent = messaging.send(caller, frame.roomId, frame.clientMsgId, content)
    return None if sent.ack_posted else sent.ack


def _edit(caller: Caller, frame: EditMessageFrame) -> Reply:
    content = frame.content.model_dump()
    return bootstrap.message_actions().edit(caller, frame.roomId, frame.messageId, content)


def _delete(caller: Caller, frame: DeleteMessageFrame) -> Reply:
    return bootstrap.message_actions().delete(caller, frame.roomId, frame.messageId)


def _react(caller: Caller, frame: ReactFrame) -> Reply:
    added = frame.op == "add"
    return bootstrap.message_actions().react(
        caller, frame.roomId, frame.messageId, frame.emoji, added
    )


def _typing(caller: Caller, frame: TypingFrame) -> Reply:
    bootstrap.typing_indicators().typing(caller, frame.roomId, frame.isTyping)
    return None


_RECEIPT_KINDS = {"markDelivered": ReceiptKind.DELIVERED, "markRead": ReceiptKind.READ}


def _mark(caller: Caller, frame: MarkFrame) -> Reply:
    bootstrap.receipts().mark(caller, frame.roomId, _RECEIPT_KINDS[frame.action], frame.upToSeq)
    return None


def _sync(caller: Caller, frame: SyncFrame) -> Reply:
    bootstrap.sync().sync(caller, frame.roomId, frame.afterSeq, frame.limit)  # posts, in order
    return None


def _presence(caller: Caller, frame: PresenceAskFrame) -> Reply:
    users = bootstrap.presence().ask(caller.user_id, frame.roomId, frame.userIds)
    return presence_frame(users, room_id=frame.roomId)


def _pong(caller: Caller, frame: PingFrame) -> Reply:
    # Keeps the socket inside API Gateway's 10-minute idle timeout; like every frame, it is
    # also the connection's heartbeat (presence, the registry: the frame gate's script).
    return {"type": "pong"}


FRAME_ROUTES: dict[str, FrameRoute[Any]] = {
    "sendMessage": FrameRoute("SendMessageFrame", _send_message),
    "editMessage": FrameRoute("EditMessageFrame", _edit),
    "deleteMessage": FrameRoute("DeleteMessageFrame", _delete),
    "react": FrameRoute("ReactFrame", _react),
    "typing": FrameRoute("TypingFrame", _typing),
    "markDelivered": FrameRoute("MarkFrame", _mark),
    "markRead": FrameRoute("MarkFrame", _mark),
    "sync": FrameRoute("SyncFrame", _sync),
    "presence": FrameRoute("PresenceAskFrame", _presence),
    "ping": FrameRoute("PingFrame", _pong),
}


@dataclass(frozen=True)
class RouteFunction:
    """One Lambda function: the route keys it serves, and what it builds at cold start (the
    adapters of its own routes only)."""

    routes: tuple[str, ...]
    warm: Callable[[], object]


FUNCTIONS: dict[str, RouteFunction] = {
    "WsConnectFunction": RouteFunction((CONNECT,), bootstrap.connections),
    "WsDisconnectFunction": RouteFunction((DISCONNECT,), bootstrap.connections),
    # The only adapter of these two: the error frame or the pong is the route response.
    "WsDefaultFunction": RouteFunction((DEFAULT,), bootstrap.frame_gate),
    "WsPingFunction": RouteFunction(("ping",), bootstrap.frame_gate),
    "WsSendMessageFunction": RouteFunction(("sendMessage",), bootstrap.messaging),
    "WsMessageChangesFunction": RouteFunction(
        ("editMessage", "deleteMessage", "react"), bootstrap.message_actions
    ),
    "WsTypingFunction": RouteFunction(("typing",), bootstrap.typing_indicators),
    "WsReceiptsFunction": RouteFunction(("markDelivered", "markRead"), bootstrap.receipts),
    "WsSyncFunction": RouteFunction(("sync",), bootstrap.sync),
    "WsPresenceFunction": RouteFunction(("presence",), bootstrap.presence),
}


def route_functions() -> dict[str, str]:
    """Route key -> the logical id of the function behind it (as template.yaml must have)."""
    return {key: name for name, function in FUNCTIONS.items() for key in function.routes}


def websocket_handler(function: str) -> LambdaHandler:
    """The handler of one route function, its adapters built now (once per cold start)."""
    spec = FUNCTIONS[function]
    snapstart.register(spec.warm)  # rebuilds the clients after a SnapStart restore
    try:
        spec.warm()
    except bootstrap.transient_errors() as exc:
        # A store down at a cold start (the Redis cluster client reads the slot map when
        # built) must not fail the init: API Gateway would answer every frame with a bare
        # "Internal server error". The first frame builds again and hears `unavailable`.
        logger.warning(
            "cold start without a backing store",
            extra={"function": function, "error": f"{type(exc).__name__}: {exc}"},
        )
    if spec.routes == (CONNECT,):
        return connect_route()
    if spec.routes == (DISCONNECT,):
        return disconnect_route()
    if spec.routes == (DEFAULT,):
        return default_route()
    return frame_route({key: FRAME_ROUTES[key] for key in spec.routes})
