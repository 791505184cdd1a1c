"""ping: answer pong (keeps the socket inside API Gateway's 10-minute idle timeout)."""

from mayachat import bootstrap
from mayachat.edge.websocket import frame_route
from mayachat.model import Caller
from mayachat.protocol import PingFrame

delivery = bootstrap.delivery()


def pong(caller: Caller, frame: PingFrame) -> None:
    delivery.reply(caller.connection_id, {"type": "pong"}, what="pong")


handler = frame_route(PingFrame, pong)
