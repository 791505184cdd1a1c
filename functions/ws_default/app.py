"""$default: every frame no route matched (not JSON, no action, unknown action)."""

from mayachat import bootstrap
from mayachat.edge.websocket import frame_route
from mayachat.model import Caller
from mayachat.protocol import Frame

bootstrap.delivery()


def unreachable(caller: Caller, frame: Frame) -> None:
    raise AssertionError("the $default route never dispatches a frame")


handler = frame_route(None, unreachable)
