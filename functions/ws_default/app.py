"""$default: every frame no route matched (not JSON, no action, unknown action)."""

from mayachat import bootstrap
from mayachat.edge.websocket import Reply, frame_route
from mayachat.model import Caller
from mayachat.protocol import Frame

bootstrap.rate_limiter()  # the only adapter: the error frame is the route response


def unreachable(caller: Caller, frame: Frame) -> Reply:
    raise AssertionError("the $default route never dispatches a frame")


handler = frame_route(None, unreachable)
