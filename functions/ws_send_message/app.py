"""sendMessage: to Kafka first (then ack), then to the room's online members.

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsSendMessageFunction")
