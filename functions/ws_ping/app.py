"""ping: answer pong (keeps the socket inside API Gateway's 10-minute idle timeout)."""

from mayachat import bootstrap
from mayachat.edge.websocket import Reply, frame_route
from mayachat.model import Caller
from mayachat.protocol import PingFrame

bootstrap.rate_limiter()  # the only adapter: the pong is the route response


def pong(caller: Caller, frame: PingFrame) -> Reply:
    return {"type": "pong"}


handler = frame_route(PingFrame, pong)
