"""$disconnect: forget the connection (best effort: 410 on delivery also cleans up)."""

from mayachat import bootstrap
from mayachat.edge.websocket import disconnect_route

bootstrap.connections()

handler = disconnect_route()
