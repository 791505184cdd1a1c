"""presence: the online state and lastSeen of a room's members, for a member who asks.

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsPresenceFunction")
