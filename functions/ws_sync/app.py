"""sync: replay a room's messages after a seq, from Redis, falling back to MongoDB."""

from mayachat import bootstrap
from mayachat.edge.websocket import frame_route
from mayachat.model import Caller
from mayachat.protocol import SyncFrame

sync = bootstrap.sync()


def on_sync(caller: Caller, frame: SyncFrame) -> None:
    sync.sync(caller, frame.roomId, frame.afterSeq, frame.limit)  # posts frames, in order


handler = frame_route(SyncFrame, on_sync)
