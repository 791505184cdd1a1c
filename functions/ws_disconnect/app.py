"""$disconnect: forget the connection (best effort: 410 on delivery also cleans up).

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsDisconnectFunction")
