"""$default: every frame no route matched (not JSON, no action, unknown action).

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsDefaultFunction")
