"""typing: tell the room's other online members; nothing is stored.

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsTypingFunction")
