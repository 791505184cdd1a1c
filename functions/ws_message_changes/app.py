"""editMessage / deleteMessage / react: check the message's rules, log the change, tell the room.

Its routes, frames and service calls are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsMessageChangesFunction")
