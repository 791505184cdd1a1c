"""sync: replay a room's stored messages after a seq (MongoDB, up to its stable seq).

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsSyncFunction")
