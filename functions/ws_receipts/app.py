"""markDelivered / markRead: move the caller's cursor forward, log it, tell the room.

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsReceiptsFunction")
