"""ping: answer pong (keeps the socket inside API Gateway's 10-minute idle timeout).

Its route, frame and service call are in mayachat.edge.routes."""

from mayachat.edge.routes import websocket_handler

handler = websocket_handler("WsPingFunction")
