"""$connect: register the connection (user -> devices) and the user's presence."""

from mayachat import bootstrap
from mayachat.edge.websocket import connect_route

bootstrap.connections()

handler = connect_route()
