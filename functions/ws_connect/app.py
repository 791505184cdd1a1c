"""$connect: register the connection (user -> devices), within the user's limits.

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsConnectFunction")
