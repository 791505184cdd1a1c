"""markDelivered / markRead: move the caller's cursor forward, log it, tell the room."""

from mayachat import bootstrap
from mayachat.edge.websocket import Reply, frame_route
from mayachat.model import Caller, ReceiptKind
from mayachat.protocol import MarkFrame

receipts = bootstrap.receipts()

KINDS = {"markDelivered": ReceiptKind.DELIVERED, "markRead": ReceiptKind.READ}


def mark(caller: Caller, frame: MarkFrame) -> Reply:
    receipts.mark(caller, frame.roomId, KINDS[frame.action], frame.upToSeq)
    return None


handler = frame_route(MarkFrame, mark)
