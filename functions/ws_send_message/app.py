"""sendMessage: to Kafka first (then ack), then to the room's online members."""

from mayachat import bootstrap
from mayachat.edge.websocket import Reply, frame_route
from mayachat.model import Caller
from mayachat.protocol import SendMessageFrame

messaging = bootstrap.messaging()


def send_message(caller: Caller, frame: SendMessageFrame) -> Reply:
    return messaging.send(caller, frame.roomId, frame.clientMsgId, frame.content.model_dump())


handler = frame_route(SendMessageFrame, send_message)
